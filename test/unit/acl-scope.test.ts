/**
 * AclScope, the one place the ACL enters a query (src/domain/access/acl-scope.ts). Its filters and
 * its predicates must agree for every principal and permission level; every filter it builds has
 * the ScopedFilter shape (ACL clause first); every field an ACL clause names is in
 * ACL_INDEX_FIELDS, so the embedded planner can always plan a reader's query from the ACL clause.
 * A new ACL branch (roles, say) is tested here: add an entity granted by it and a principal
 * holding it, and these tests check both forms, the shape and the index list.
 */
import type { CollectionPermissions } from '../../src/domain/apps/app-definition';
import { ACL_INDEX_FIELDS, MATCH_NOTHING, aclScope, mayEver } from '../../src/domain/access/acl-scope';
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
  { _id: 'role-r', n: 10, _acl: { creator: 'u-other', roles: { r: ['role-hr'] } } },
  { _id: 'role-u', n: 11, _acl: { creator: 'u-other', roles: { u: ['role-hr'], d: ['role-other'] } } },
  { _id: 'role-d', n: 12, _acl: { creator: 'u-other', roles: { d: ['role-hr'] } } },
  { _id: 'role-all', n: 13, _acl: { creator: 'u-other', roles: { r: ['all-users'], u: ['all-users'] } } },
  { _id: 'role-bad', n: 14, _acl: { creator: 'u-other', roles: ['role-hr'] } },
];

/** Role tables beside the fixed levels: by role name and by id, each access type. */
const roleTables: Record<string, CollectionPermissions> = {
  'hr-grant-only': { HR: { create: 'always', read: 'grant', update: 'grant', delete: 'grant' } },
  'all-entity-hr-always': {
    'all-users': { create: 'always', read: 'entity', update: 'entity', delete: 'never' },
    'role-hr': { read: 'always', delete: 'always' },
  },
  'all-grant': { 'all-users': { read: 'grant', update: 'grant', delete: 'grant' } },
  empty: {},
};
const levels: CollectionPermissions[] = ['shared', 'private', 'read-only', 'full', ...Object.values(roleTables)];
const ops = ['update', 'delete'] as const;
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
        for (const op of ops) {
          expect(selected(scope.writable(query, op))).toEqual(
            entities.filter((e) => scope.canWrite(e, op) && inQuery.includes(e._id)).map((e) => e._id),
          );
        }
      }
      for (const op of ops) {
        const condition = scope.writeCondition(op);
        expect(selected(condition ?? {})).toEqual(entities.filter((e) => scope.canWrite(e, op)).map((e) => e._id));
      }
    },
  );

  test.each(matrix)(
    '%s collection: %s — every scoped filter puts its ACL clause first and names only indexed _acl fields',
    (level, name) => {
      const scope = aclScope(principals[name]!, level);
      for (const query of queries) {
        for (const scoped of [
          scope.readable(query),
          scope.writable(query, 'update'),
          scope.writable(query, 'delete'),
        ]) {
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
    expect(aclScope(principals.master!, 'read-only').writable(query, 'delete')).toBe(query);
    expect(aclScope(principals.master!, 'private').writeCondition('update')).toBeUndefined();
    expect(aclScope(principals.master!, {}).writeCondition('delete')).toBeUndefined();
    expect(aclScope(principals.reader!, 'full').writable(query, 'update')).toBe(query);
    expect(aclScope(principals.reader!, 'shared').readable(query)).toBe(query);
  });

  test('app credentials on a private collection, and any non-master on a read-only one, get a clause matching nothing', () => {
    expect(aclScope(principals.app!, 'private').readable({})).toEqual(MATCH_NOTHING);
    expect(aclScope(principals.reader!, 'read-only').writeCondition('update')).toEqual(MATCH_NOTHING);
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

describe('AclScope with roles', () => {
  const ids = (scope: ReturnType<typeof aclScope>, op: 'read' | 'update' | 'delete'): string[] =>
    entities.filter((e) => (op === 'read' ? scope.canRead(e) : scope.canWrite(e, op))).map((e) => e._id);

  test('grant: a role reaches only the entities whose _acl.roles list for the operation names it (by table name)', () => {
    const hr = aclScope(principals.hr!, roleTables['hr-grant-only']!);
    expect(ids(hr, 'read')).toEqual(['role-r']);
    expect(ids(hr, 'update')).toEqual(['role-u']);
    expect(ids(hr, 'delete')).toEqual(['role-d']);
    expect(hr.canCreate()).toBe(true);
    // Not holding the role: the table has no row for the user, so nothing at all.
    const creator = aclScope(principals.creator!, roleTables['hr-grant-only']!);
    expect(ids(creator, 'read')).toEqual([]);
    expect(creator.canCreate()).toBe(false);
    expect(creator.deniesAll('delete')).toBe(true);
  });

  test('the union of the roles held: always through one role beats entity through all-users', () => {
    const table = roleTables['all-entity-hr-always']!;
    expect(ids(aclScope(principals.hr!, table), 'read')).toEqual(entities.map((e) => e._id));
    expect(ids(aclScope(principals.hr!, table), 'delete')).toEqual(entities.map((e) => e._id));
    // entity: the _acl decides, _acl.roles included (all-users is a role every user holds).
    expect(ids(aclScope(principals.hr!, table), 'update')).toEqual(['global-w', 'role-u', 'role-all']);
    expect(ids(aclScope(principals.creator!, table), 'read')).toEqual(['own', 'global-r', 'global-w', 'role-all']);
    expect(ids(aclScope(principals.creator!, table), 'delete')).toEqual([]);
  });

  test('a role table with no row for a user, or an empty one, lets the user do nothing; app credentials likewise', () => {
    for (const name of ['creator', 'hr', 'stranger', 'app']) {
      const scope = aclScope(principals[name]!, roleTables.empty!);
      expect(scope.readable({})).toEqual(MATCH_NOTHING);
      expect(scope.canCreate()).toBe(false);
    }
  });

  test('mayEver (external collections): whether any held role allows the operation at all', () => {
    const table = roleTables['hr-grant-only']!;
    expect(mayEver(principals.hr!, table, 'read')).toBe(true);
    expect(mayEver(principals.hr!, table, 'create')).toBe(true);
    expect(mayEver(principals.creator!, table, 'read')).toBe(false);
    expect(mayEver(principals.creator!, table, 'create')).toBe(false);
    expect(mayEver(principals.creator!, roleTables['all-entity-hr-always']!, 'delete')).toBe(false);
    expect(mayEver(principals.hr!, roleTables['all-entity-hr-always']!, 'delete')).toBe(true);
    expect(mayEver(principals.master!, roleTables.empty!, 'delete')).toBe(true);
    expect(mayEver(principals.app!, roleTables['all-grant']!, 'read')).toBe(false);
  });

  test('a malformed _acl.roles (an array, not an object of lists) grants nothing', () => {
    const scope = aclScope(principals.hr!, roleTables['hr-grant-only']!);
    expect(scope.canRead(entities.find((e) => e._id === 'role-bad')!)).toBe(false);
  });

  test('table rows and role lists are read as own properties only: __proto__ names no role', () => {
    const table = JSON.parse('{"__proto__": {"read": "always"}}') as CollectionPermissions;
    const hijack: Principal = { ...principals.hr!, roles: [{ id: '__proto__', name: '__proto__' }] } as Principal;
    expect(aclScope(principals.hr!, table).readable({})).toEqual(MATCH_NOTHING);
    // A role whose id is __proto__ gets the row an own __proto__ key gives, and nothing inherited.
    expect(aclScope(hijack, table).readable({})).toEqual({});
    expect(aclScope(principals.hr!, { 'all-users': Object.create({ read: 'always' }) }).readable({})).toEqual(
      MATCH_NOTHING,
    );
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
