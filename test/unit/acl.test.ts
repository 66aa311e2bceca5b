import type { PermissionLevel as CollectionPermissions } from '../../schemas/apps.schema';
import {
  MATCH_NOTHING,
  buildAcl,
  canCreate,
  canRead,
  canWrite,
  readFilter,
  restrict,
  writeFilter,
} from '../../src/domain/access/acl';
import { KinveyError } from '../../src/domain/errors';
import type { Principal } from '../../src/domain/access/principal';
import type { Filter, StoredDocument } from '../../src/domain/ports';
import { compileFilter } from '../../src/stores/documents/mongo-semantics/matcher';
import { aclPrincipals } from '../support/acl-principals';

const APP = 'kid_acl';
const principals = aclPrincipals(APP);

/** One entity per way of being granted access, plus entities nobody but master may touch. */
const entities: StoredDocument[] = [
  { _id: 'own', _acl: { creator: 'u-creator' } },
  { _id: 'listed-r', _acl: { creator: 'u-other', r: ['u-reader'] } },
  { _id: 'listed-w', _acl: { creator: 'u-other', w: ['u-writer'] } },
  { _id: 'global-r', _acl: { creator: 'u-other', gr: true } },
  { _id: 'global-w', _acl: { creator: 'u-other', gw: true } },
  { _id: 'group-r', _acl: { creator: 'u-other', groups: { r: ['g-readers'] } } },
  { _id: 'group-w', _acl: { creator: 'u-other', groups: { w: ['g-writers'] } } },
  { _id: 'closed', _acl: { creator: 'u-other', gr: false, gw: false, r: [], w: [] } },
  { _id: 'by-master', _acl: { creator: APP } },
  { _id: 'no-acl' },
];
const ALL = entities.map((e) => e._id);

/** What each user is granted by entity ACLs alone (private collections read this, all but full write this). */
const aclGrants: Record<string, { read: string[]; write: string[] }> = {
  creator: { read: ['own', 'global-r', 'global-w'], write: ['own', 'global-w'] },
  reader: { read: ['listed-r', 'global-r', 'global-w'], write: ['global-w'] },
  writer: { read: ['listed-w', 'global-r', 'global-w'], write: ['listed-w', 'global-w'] },
  member: { read: ['global-r', 'global-w', 'group-r', 'group-w'], write: ['global-w', 'group-w'] },
  hr: { read: ['global-r', 'global-w', 'group-r'], write: ['global-w'] },
  stranger: { read: ['global-r', 'global-w'], write: ['global-w'] },
};

function expected(level: CollectionPermissions, name: string): { read: string[]; write: string[] } {
  if (name === 'master') return { read: ALL, write: ALL };
  const grants = aclGrants[name]!;
  switch (level) {
    case 'shared':
      return { read: ALL, write: grants.write };
    case 'private':
      return grants;
    case 'read-only':
      return { read: ALL, write: [] };
    case 'full':
      return { read: ALL, write: ALL };
  }
}

const levels: CollectionPermissions[] = ['shared', 'private', 'read-only', 'full'];
const matrix = levels.flatMap((level) => Object.keys(principals).map((name) => [level, name] as const));

function selectedBy(filter: Filter | null, client: Filter = {}): string[] {
  const matches = compileFilter(restrict(client, filter));
  return entities.filter((e) => matches(e)).map((e) => e._id);
}

const sorted = (ids: string[]) => [...ids].sort();

describe('collection level x principal', () => {
  test.each(matrix)('%s collection: %s reads and writes exactly the granted entities', (level, name) => {
    const principal = principals[name]!;
    const want = expected(level, name);
    expect(sorted(entities.filter((e) => canRead(principal, level, e)).map((e) => e._id))).toEqual(sorted(want.read));
    expect(sorted(entities.filter((e) => canWrite(principal, level, e)).map((e) => e._id))).toEqual(sorted(want.write));
  });

  test.each(matrix)(
    '%s collection: %s — readFilter and writeFilter select what canRead and canWrite accept',
    (level, name) => {
      const principal = principals[name]!;
      const readable = entities.filter((e) => canRead(principal, level, e)).map((e) => e._id);
      const writable = entities.filter((e) => canWrite(principal, level, e)).map((e) => e._id);
      expect(selectedBy(readFilter(principal, level))).toEqual(readable);
      expect(selectedBy(writeFilter(principal, level))).toEqual(writable);
      // Combined with a client filter, the ACL still only narrows the result.
      const client = { _id: { $in: ['own', 'group-w', 'closed'] } };
      expect(selectedBy(readFilter(principal, level), client)).toEqual(
        readable.filter((id) => client._id.$in.includes(id)),
      );
      expect(selectedBy(writeFilter(principal, level), client)).toEqual(
        writable.filter((id) => client._id.$in.includes(id)),
      );
    },
  );
});

describe('principals without a user', () => {
  const app: Principal = { kind: 'app', appKey: APP };

  test('master is never filtered', () => {
    for (const level of levels) {
      expect(readFilter(principals.master!, level)).toBeNull();
      expect(writeFilter(principals.master!, level)).toBeNull();
    }
  });

  test('app credentials read nothing of a private collection and write nothing outside full ones', () => {
    expect(readFilter(app, 'private')).toEqual(MATCH_NOTHING);
    expect(selectedBy(readFilter(app, 'private'))).toEqual([]);
    for (const level of ['shared', 'private', 'read-only'] as const) {
      expect(selectedBy(writeFilter(app, level))).toEqual([]);
      expect(entities.some((e) => canWrite(app, level, e))).toBe(false);
    }
  });
});

describe('canCreate', () => {
  test.each([
    ['master', 'read-only', true],
    ['master', 'private', true],
    ['stranger', 'shared', true],
    ['stranger', 'private', true],
    ['stranger', 'full', true],
    ['stranger', 'read-only', false],
  ] as const)('%s in a %s collection: %s', (name, level, allowed) => {
    expect(canCreate(principals[name]!, level)).toBe(allowed);
  });

  test('app credentials never create', () => {
    expect(levels.some((level) => canCreate({ kind: 'app', appKey: APP }, level))).toBe(false);
  });
});

describe('buildAcl', () => {
  const creator = principals.creator!;

  test('the creator is the principal on create and is never taken from the body', () => {
    expect(buildAcl({ creator: 'someone-else', gr: true }, creator)).toEqual({ creator: 'u-creator', gr: true });
    expect(buildAcl(undefined, principals.master!)).toEqual({ creator: APP });
  });

  test('the creator of an existing entity is kept when someone else saves it', () => {
    const acl = buildAcl({ r: ['u-reader', 'u-reader'], groups: { w: ['g-writers'] } }, principals.writer!, {
      _acl: { creator: 'u-creator' },
    });
    expect(acl).toEqual({ creator: 'u-creator', r: ['u-reader'], groups: { w: ['g-writers'] } });
  });

  test('unknown keys are stored but grant nothing', () => {
    const acl = buildAcl({ tags: { r: ['admin'] } }, creator);
    expect(acl).toEqual({ creator: 'u-creator', tags: { r: ['admin'] } });
  });

  test('role lists are kept once each, for r, u and d', () => {
    const acl = buildAcl({ roles: { r: ['hr', 'hr'], u: ['hr'], d: [] } }, creator);
    expect(acl).toEqual({ creator: 'u-creator', roles: { r: ['hr'], u: ['hr'], d: [] } });
  });

  test.each([
    ['not an object', 'everyone'],
    ['gr not a boolean', { gr: 'yes' }],
    ['r not a list', { r: 'u-reader' }],
    ['w with a non-string', { w: [1] }],
    ['groups not an object', { groups: ['g'] }],
    ['groups with an unknown key', { groups: { x: ['g'] } }],
    ['a list longer than 1000', { r: Array.from({ length: 1001 }, (_, i) => `u${i}`) }],
    ['roles not an object', { roles: ['hr'] }],
    ['roles with an unknown key', { roles: { w: ['hr'] } }],
    ['roles with a non-string id', { roles: { r: [{ $ne: null }] } }],
    ['roles with an empty id', { roles: { u: [''] } }],
    ['roles with an over-long id', { roles: { d: ['x'.repeat(129)] } }],
    ['roles naming __proto__ as a list', JSON.parse('{"roles": {"__proto__": ["hr"]}}')],
  ])('a malformed _acl (%s) is 400 BadRequest', (_name, input) => {
    expect(() => buildAcl(input, creator)).toThrow(KinveyError);
    try {
      buildAcl(input, creator);
    } catch (err) {
      expect(err).toMatchObject({ error: 'BadRequest', status: 400 });
    }
  });
});

describe('restrict', () => {
  test('no ACL filter leaves the client filter alone; an empty client filter becomes the ACL filter; the ACL comes first', () => {
    expect(restrict({ a: 1 }, null)).toEqual({ a: 1 });
    expect(restrict({}, { b: 2 })).toEqual({ b: 2 });
    expect(restrict({ a: 1 }, { b: 2 })).toEqual({ $and: [{ b: 2 }, { a: 1 }] });
  });

  test('a client $or cannot widen what the ACL allows', () => {
    const stranger = principals.stranger!;
    const client = { $or: [{ _id: 'own' }, { _id: 'global-r' }] };
    expect(selectedBy(readFilter(stranger, 'private'), client)).toEqual(['global-r']);
  });
});
