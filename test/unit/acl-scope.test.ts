/**
 * AclScope, the one place the ACL enters a query (src/domain/access/acl-scope.ts). Its filters and
 * its predicates must agree for every principal and permission level; every filter it builds has
 * the ScopedFilter shape (ACL clause first); every field an ACL clause names is in
 * ACL_INDEX_FIELDS, so the embedded planner can always plan a reader's query from the ACL clause.
 * A new ACL branch (roles, say) is tested here: add an entity granted by it and a principal
 * holding it, and these tests check both forms, the shape and the index list.
 */
import type { CollectionPermissions } from '../../src/domain/apps/app-definition';
import { ACL_INDEX_FIELDS, MATCH_NOTHING, aclScope } from '../../src/domain/access/acl-scope';
import type { Principal } from '../../src/domain/access/principal';
import { isAclClause, isReadableByAllBranch, type Filter, type StoredDocument } from '../../src/domain/ports';
import { compileFilter } from '../../src/stores/documents/mongo-semantics/matcher';
import { planFilter, type PlannedIndex, type Source } from '../../src/stores/documents/embedded/sqlite/planner';
import { aclPrincipals } from '../support/acl-principals';

const APP = 'kid_scope';
const principals: Record<string, Principal> = { ...aclPrincipals(APP), app: { kind: 'app', appKey: APP } };

const entities: StoredDocument[] = [
  { _id: 'own', n: 1, _acl: { creator: 'u-creator' } },
  { _id: 'listed-r', n: 2, _acl: { creator: 'u-other', r: ['u-reader'] } },
  { _id: 'listed-w', n: 3, _acl: { creator: 'u-other', w: ['u-writer'] } },
  { _id: 'global-r', n: 4, _acl: { creator: 'u-other', gr: true } },
  { _id: 'global-w', n: 5, _acl: { creator: 'u-other', gw: true } },
  { _id: 'group-r', n: 6, _acl: { creator: 'u-other', groups: { r: ['g-readers'] } } },
  { _id: 'group-w', n: 7, _acl: { creator: 'u-other', groups: { w: ['g-writers'] } } },
  { _id: 'closed', n: 8, _acl: { creator: 'u-other', gr: false, gw: false, r: [], w: [] } },
  { _id: 'no-acl', n: 9 },
];

const levels: CollectionPermissions[] = ['shared', 'private', 'read-only', 'full'];
const matrix = levels.flatMap((level) => Object.keys(principals).map((name) => [level, name] as const));
const queries: Filter[] = [{}, { n: { $gte: 4 } }, { _id: { $in: ['own', 'global-w', 'closed'] } }];

const selected = (filter: Filter): string[] => entities.filter((e) => compileFilter(filter)(e)).map((e) => e._id);

/** The ACL clause of a scoped filter, checking the ScopedFilter shape: alone, or first in `$and`. */
function aclClauseOf(scoped: Filter, query: Filter): Filter | null {
  if (scoped === query) return null;
  if (Object.keys(query).length === 0) return scoped;
  expect(Object.keys(scoped)).toEqual(['$and']);
  const clauses = scoped.$and as Filter[];
  expect(clauses).toHaveLength(2);
  expect(clauses[1]).toBe(query);
  return clauses[0]!;
}

/** The `_acl` fields a filter names, at any depth of its operators. */
function aclFields(filter: unknown): string[] {
  if (Array.isArray(filter)) return filter.flatMap(aclFields);
  if (typeof filter !== 'object' || filter === null) return [];
  return Object.entries(filter).flatMap(([key, value]) =>
    key.startsWith('_acl') ? [key] : key.startsWith('$') ? aclFields(value) : [],
  );
}

describe('AclScope', () => {
  test.each(matrix)(
    '%s collection: %s — readable/writable select exactly what canRead/canWrite accept, for any query',
    (level, name) => {
      const scope = aclScope(principals[name]!, level);
      for (const query of queries) {
        const inQuery = selected(query);
        expect(selected(scope.readable(query))).toEqual(
          entities.filter((e) => scope.canRead(e) && inQuery.includes(e._id)).map((e) => e._id),
        );
        expect(selected(scope.writable(query))).toEqual(
          entities.filter((e) => scope.canWrite(e) && inQuery.includes(e._id)).map((e) => e._id),
        );
      }
      const condition = scope.writeCondition();
      expect(selected(condition ?? {})).toEqual(entities.filter((e) => scope.canWrite(e)).map((e) => e._id));
    },
  );

  test.each(matrix)(
    '%s collection: %s — every scoped filter puts its ACL clause first and names only indexed _acl fields',
    (level, name) => {
      const scope = aclScope(principals[name]!, level);
      for (const query of queries) {
        for (const scoped of [scope.readable(query), scope.writable(query)]) {
          const clause = aclClauseOf(scoped, query);
          if (!clause) continue; // unrestricted: the query itself, untouched
          if (clause === MATCH_NOTHING) continue;
          expect(isAclClause(clause)).toBe(true);
          expect(Object.keys(clause)).toEqual(['$or']);
          for (const branch of clause.$or as Filter[])
            expect(Object.keys(branch).every((key) => key.startsWith('_acl.'))).toBe(true);
          expect(aclFields(clause).filter((field) => !ACL_INDEX_FIELDS.includes(field))).toEqual([]);
        }
      }
    },
  );

  test('master and unrestricted levels leave the query as it is: no ACL clause, no write condition', () => {
    const query = { n: 1 };
    expect(aclScope(principals.master!, 'private').readable(query)).toBe(query);
    expect(aclScope(principals.master!, 'read-only').writable(query)).toBe(query);
    expect(aclScope(principals.master!, 'private').writeCondition()).toBeUndefined();
    expect(aclScope(principals.reader!, 'full').writable(query)).toBe(query);
    expect(aclScope(principals.reader!, 'shared').readable(query)).toBe(query);
  });

  test('app credentials on a private collection, and any non-master on a read-only one, get a clause matching nothing', () => {
    expect(aclScope(principals.app!, 'private').readable({})).toEqual(MATCH_NOTHING);
    expect(aclScope(principals.reader!, 'read-only').writeCondition()).toEqual(MATCH_NOTHING);
    expect(aclScope(principals.app!, 'private').canCreate()).toBe(false);
    expect(aclScope(principals.reader!, 'read-only').canCreate()).toBe(false);
    expect(aclScope(principals.reader!, 'private').canCreate()).toBe(true);
  });

  test("the read clause's readable-by-all branches are the ones the embedded engine indexes separately", () => {
    const clause: Filter = aclScope(principals.member!, 'private').readable({});
    const publicBranches = (clause.$or as Filter[]).filter(isReadableByAllBranch);
    expect(publicBranches).toEqual([{ '_acl.gr': true }, { '_acl.gw': true }]);
  });
});

describe('AclScope with the embedded planner', () => {
  const fields = [...ACL_INDEX_FIELDS, 'secret'];
  const indexFor =
    (ready: boolean) =>
    (field: string): PlannedIndex | undefined => {
      const ix = fields.indexOf(field);
      return ix < 0 ? undefined : { ix, sparse: false, multikey: false, ready: ready || field === 'secret' };
    };
  const fieldOf = (source: Source): string => (source.kind === 'ids' ? '_id' : fields[source.ix]!);

  test("with only ACL_INDEX_FIELDS indexed, a private reader's query is planned from its ACL clause alone", () => {
    const scoped = aclScope(principals.member!, 'private').readable({ n: { $gt: 1 } });
    const plans = planFilter(scoped, indexFor(true));
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans)
      expect(plan.sources.every((source) => ACL_INDEX_FIELDS.includes(fieldOf(source)))).toBe(true);
  });

  test("while the ACL indexes are being built, a reader's indexed condition is never looked up in their place", () => {
    const scoped = aclScope(principals.member!, 'private').readable({ secret: 'guess' });
    expect(planFilter(scoped, indexFor(false))).toEqual([]);
  });
});
