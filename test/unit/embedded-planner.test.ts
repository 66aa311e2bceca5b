/**
 * What the embedded store's planner may look up in an index. Security: a reader's own conditions
 * are never planned next to an ACL clause (they would be looked up among documents the reader
 * cannot read); they become per-candidate checks. Speed: a login's username is planned although
 * the "active users" clause before it is not indexable.
 */
import { readFilter, restrict } from '../../src/domain/access/acl';
import { ACTIVE_USERS } from '../../src/domain/users/user-records';
import type { Principal } from '../../src/domain/access/principal';
import { encodeKey } from '../../src/stores/documents/embedded/sqlite/index-keys';
import { planFilter, type PlannedIndex, type Source } from '../../src/stores/documents/embedded/sqlite/planner';

const FIELDS = [
  '_acl.creator',
  '_acl.r',
  '_acl.w',
  '_acl.gr',
  '_acl.gw',
  '_acl.groups.r',
  '_acl.groups.w',
  '_acl.roles.r',
  '_kmd.lmt',
  'secret',
  'username',
];
const indexes = new Map<string, PlannedIndex>(
  FIELDS.map((field, ix) => [field, { ix, sparse: false, multikey: false, ready: true }]),
);
const indexFor = (field: string): PlannedIndex | undefined => indexes.get(field);
const fieldOf = (source: Source): string => (source.kind === 'ids' ? '_id' : (FIELDS[source.ix] as string));
const user = {
  kind: 'user',
  appKey: 'app',
  userId: 'u1',
  username: 'ann',
  groups: new Set(['g1']),
} as unknown as Principal;

test('a reader of a private collection is planned from the ACL only; its own equality is checked per candidate', () => {
  const filter = restrict({ secret: 'guess' }, readFilter(user, 'private'));
  const plans = planFilter(filter, indexFor);
  const plan = plans.find((p) => p.sources.every((source) => source.kind === 'range' && !source.readableByAll));
  expect(new Set(plan?.sources.map(fieldOf))).toEqual(
    new Set([
      '_acl.creator',
      '_acl.gr',
      '_acl.gw',
      '_acl.r',
      '_acl.w',
      '_acl.groups.r',
      '_acl.groups.w',
      '_acl.roles.r',
    ]),
  );
  expect(plan?.residual).toEqual([{ ix: FIELDS.indexOf('secret'), keys: [encodeKey('guess').key] }]);
  expect(plan?.exact).toBe(true);
});

test("a reader's own condition is looked up only among documents everyone may read", () => {
  for (const condition of [{ secret: 'guess' }, { secret: { $gt: 'm' } }, { secret: { $in: ['a', 'b'] } }]) {
    const plans = planFilter(restrict(condition, readFilter(user, 'private')), indexFor);
    const lookups = plans.flatMap((plan) => plan.sources).filter((source) => fieldOf(source) === 'secret');
    expect(lookups.length).toBeGreaterThan(0);
    for (const source of lookups) expect(source).toMatchObject({ kind: 'range', readableByAll: true });
  }
});

test("a reader's regex or $ne next to the ACL is left to the matcher, never planned", () => {
  for (const condition of [{ secret: { $regex: '^a' } }, { secret: { $ne: 'x' } }]) {
    const plans = planFilter(restrict(condition, readFilter(user, 'private')), indexFor);
    expect(plans.flatMap((plan) => plan.sources.map(fieldOf))).not.toContain('secret');
    expect(plans.every((plan) => !plan.exact && plan.residual === undefined)).toBe(true);
  }
});

test('a login is planned from its username although "active users" comes first', () => {
  const plans = planFilter(restrict({ username: 'ann' }, ACTIVE_USERS), indexFor);
  expect(plans.map((plan) => plan.sources.map(fieldOf))).toEqual([['username']]);
  expect(plans[0]?.exact).toBe(false);
});

test('a filter no index serves has no plan (a streamed scan)', () => {
  expect(planFilter({ notIndexed: 1 }, indexFor)).toEqual([]);
  expect(planFilter({ $or: [{ username: 'a' }, { notIndexed: 1 }] }, indexFor)).toEqual([]);
});

test("while the ACL indexes are being built, a reader's own conditions are still not planned", () => {
  const building = (field: string): PlannedIndex | undefined =>
    field.startsWith('_acl.') ? { ...(indexes.get(field) as PlannedIndex), ready: false } : indexes.get(field);
  expect(planFilter(restrict({ secret: 'guess' }, readFilter(user, 'private')), building)).toEqual([]);
});
