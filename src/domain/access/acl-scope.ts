/**
 * The only place the ACL enters a query. A collection's permissions (a fixed level, or Kinvey's
 * role-based table) combined with the per-entity `_acl` decide what a principal may read, update
 * and delete, in two equivalent forms: filters (AclClause, see domain/ports.ts) that the
 * DocumentStore applies, so lists, counts, groups, tombstone reads and deletes by query only ever
 * touch permitted entities; and predicates for one entity in memory. The two forms are tested
 * against each other (test/unit/acl-scope.test.ts).
 *
 * Services never build an ACL filter themselves: they take an AclScope (`aclScope(principal,
 * permissions)`) and ask it for `readable(query)` / `writable(query, op)` (the query restricted,
 * ACL clause first) or `canRead(doc)` / `canWrite(doc, op)`.
 *
 * Kinvey's model, as kinbase applies it (docs/roles.md): every user holds `all-users` and the
 * roles granted to them. For each operation, each held role's row of the table gives one access
 * type, and the user gets the union of them: `always` (every entity), `entity` (the entities whose
 * `_acl` grants the user: creator, `gr`/`gw`, `r`/`w`, `groups`, `roles`), `grant` (only the
 * entities whose `_acl.roles.<r|u|d>` names that role), `never` (nothing through that role). The
 * fixed levels are tables of `all-users` alone (LEVEL_TABLES).
 */
import type {
  AccessType,
  CollectionPermissions,
  Operation,
  PermissionLevel,
  RolePermissionTable,
} from '../../../schemas/apps.schema';
import type { AclBranch, AclClause, Filter, ScopedFilter } from '../ports';
import { ALL_USERS_ROLE, type Principal } from './principal';
import { ownValue } from './safe-keys';

export type { Operation };
/** The operations that change an existing entity: each has its own access and `_acl.roles` list. */
export type WriteOperation = 'update' | 'delete';

/**
 * Every `_acl` field an ACL clause names. Both AppData collections and the files collection index
 * them all, so every adapter can plan a reader's query from its ACL clause.
 */
export const ACL_INDEX_FIELDS: readonly string[] = [
  '_acl.creator',
  '_acl.r',
  '_acl.w',
  '_acl.gr',
  '_acl.gw',
  '_acl.groups.r',
  '_acl.groups.w',
  '_acl.roles.r',
  '_acl.roles.u',
  '_acl.roles.d',
];

/** A filter that matches nothing: used when a principal may touch no entity at all. */
export const MATCH_NOTHING = { _id: { $in: [] } } as const satisfies AclClause;

/** The fixed levels as role tables of `all-users` (Kinvey: "Shared" is the default table). */
export const LEVEL_TABLES: Readonly<Record<PermissionLevel, Readonly<Record<Operation, AccessType>>>> = {
  shared: { create: 'always', read: 'always', update: 'entity', delete: 'entity' },
  private: { create: 'always', read: 'entity', update: 'entity', delete: 'entity' },
  'read-only': { create: 'never', read: 'always', update: 'never', delete: 'never' },
  full: { create: 'always', read: 'always', update: 'always', delete: 'always' },
};

/** The `_acl.roles` list that grants each operation. */
const ROLE_LIST: Readonly<Record<Exclude<Operation, 'create'>, 'r' | 'u' | 'd'>> = {
  read: 'r',
  update: 'u',
  delete: 'd',
};

/** What one principal may read and write in one collection: the ACL, applied the one way. */
export interface AclScope {
  /** `query` restricted to the entities the principal may read (ACL clause first). */
  readable(query: Filter): ScopedFilter | Filter;
  /** `query` restricted to the entities the principal may update, or delete (ACL clause first). */
  writable(query: Filter, op: WriteOperation): ScopedFilter | Filter;
  /**
   * The condition a single-entity update or delete must still meet when it lands, closing the
   * read-check-write race; undefined when the principal may do it to every entity.
   */
  writeCondition(op: WriteOperation): AclClause | undefined;
  /** Whether the principal may create entities in the collection. */
  canCreate(): boolean;
  /** Whether the operation is denied on every entity (no role of the principal allows it at all). */
  deniesAll(op: WriteOperation): boolean;
  /** In-memory twin of `readable`: whether the principal may read this entity. */
  canRead(entity: Readonly<Record<string, unknown>>): boolean;
  /** In-memory twin of `writable`: whether the principal may update (or delete) this entity. */
  canWrite(entity: Readonly<Record<string, unknown>>, op: WriteOperation): boolean;
}

/** The ACL scope of `principal` (its groups and roles included) in a collection with these permissions. */
export function aclScope(principal: Principal, permissions: CollectionPermissions): AclScope {
  const filters = {
    read: accessFilter(principal, permissions, 'read'),
    update: accessFilter(principal, permissions, 'update'),
    delete: accessFilter(principal, permissions, 'delete'),
  };
  return {
    readable: (query) => scoped(query, filters.read),
    writable: (query, op) => scoped(query, filters[op]),
    writeCondition: (op) => filters[op] ?? undefined,
    canCreate: () => canCreate(principal, permissions),
    deniesAll: (op) => filters[op] === MATCH_NOTHING,
    canRead: (entity) => canAccess(principal, permissions, 'read', entity),
    canWrite: (entity, op) => canAccess(principal, permissions, op, entity),
  };
}

/**
 * Whether the principal may create entities: master always; a user when one of its roles has
 * `always` for create (`entity` and `grant` name no entity to check, so they do not allow it);
 * app credentials never (an entity needs a creator).
 */
export function canCreate(principal: Principal, permissions: CollectionPermissions): boolean {
  if (principal.kind === 'master') return true;
  if (principal.kind !== 'user') return false;
  return heldAccess(principal, permissions, 'create').all;
}

/**
 * Whether some role of the principal allows the operation on some entity (`always`, `entity` or
 * `grant`; for create, `always`). For collections whose entities kinbase does not hold (external,
 * Flex-backed): only the collection level can be checked there.
 */
export function mayEver(principal: Principal, permissions: CollectionPermissions, op: Operation): boolean {
  if (op === 'create') return canCreate(principal, permissions);
  const held = heldAccess(principal, permissions, op);
  return held.all || (principal.kind === 'user' && (held.entity || held.grantRoles.length > 0));
}

/** The ACL clause restricting reads to what the principal may read, or null for "everything". */
export function readFilter(principal: Principal, permissions: CollectionPermissions): AclClause | null {
  return accessFilter(principal, permissions, 'read');
}

/** The ACL clause restricting updates to what the principal may update, or null. */
export function writeFilter(
  principal: Principal,
  permissions: CollectionPermissions,
  op: WriteOperation = 'update',
): AclClause | null {
  return accessFilter(principal, permissions, op);
}

/** In-memory twin of readFilter for one entity. */
export function canRead(
  principal: Principal,
  permissions: CollectionPermissions,
  entity: Readonly<Record<string, unknown>>,
): boolean {
  return canAccess(principal, permissions, 'read', entity);
}

/** In-memory twin of writeFilter for one entity. */
export function canWrite(
  principal: Principal,
  permissions: CollectionPermissions,
  entity: Readonly<Record<string, unknown>>,
  op: WriteOperation = 'update',
): boolean {
  return canAccess(principal, permissions, op, entity);
}

/** What the principal's roles together allow for one operation. */
interface HeldAccess {
  /** Some role has `always`: every entity. */
  readonly all: boolean;
  /** Some role has `entity`: the entities whose `_acl` grants the user. */
  readonly entity: boolean;
  /** Roles with `grant`: the entities whose `_acl.roles` list for the operation names one of them. */
  readonly grantRoles: readonly string[];
}

const NO_ACCESS: HeldAccess = { all: false, entity: false, grantRoles: [] };
const ALL_ACCESS: HeldAccess = { all: true, entity: false, grantRoles: [] };

function heldAccess(principal: Principal, permissions: CollectionPermissions, op: Operation): HeldAccess {
  if (principal.kind === 'master') return ALL_ACCESS;
  const table: RolePermissionTable =
    typeof permissions === 'string' ? { [ALL_USERS_ROLE]: LEVEL_TABLES[permissions] } : permissions;
  // App credentials are no user: only what all users may do to every entity.
  if (principal.kind !== 'user') return accessType(table, ALL_USERS_ROLE, op) === 'always' ? ALL_ACCESS : NO_ACCESS;
  let entity = false;
  const grantRoles: string[] = [];
  for (const role of heldRoles(principal)) {
    // A table row names a role by id or by name (kinvey-cli's environment files use names).
    const type =
      accessType(table, role.id, op) ?? (role.name === role.id ? undefined : accessType(table, role.name, op));
    if (type === 'always') return ALL_ACCESS;
    if (type === 'entity') entity = true;
    else if (type === 'grant') grantRoles.push(role.id);
  }
  return { all: false, entity, grantRoles };
}

/** The access type a table row gives, reading own properties only; an absent operation is `never`. */
function accessType(table: RolePermissionTable, role: string, op: Operation): AccessType | undefined {
  const row = ownValue(table, role);
  if (row === undefined) return undefined;
  const type = ownValue(row, op);
  return type === 'always' || type === 'entity' || type === 'grant' ? type : 'never';
}

function heldRoles(principal: Extract<Principal, { kind: 'user' }>): readonly { id: string; name: string }[] {
  return [{ id: ALL_USERS_ROLE, name: ALL_USERS_ROLE }, ...(principal.roles ?? [])];
}

function roleIds(principal: Extract<Principal, { kind: 'user' }>): string[] {
  return heldRoles(principal).map((role) => role.id);
}

function accessFilter(
  principal: Principal,
  permissions: CollectionPermissions,
  op: Exclude<Operation, 'create'>,
): AclClause | null {
  const held = heldAccess(principal, permissions, op);
  if (held.all) return null;
  if (principal.kind !== 'user') return MATCH_NOTHING;
  const branches: AclBranch[] = [
    ...(held.entity ? entityBranches(principal, op) : []),
    ...(held.grantRoles.length ? [{ [`_acl.roles.${ROLE_LIST[op]}`]: { $in: [...held.grantRoles] } }] : []),
  ];
  return branches.length ? { $or: branches } : MATCH_NOTHING;
}

/** The `_acl` conditions under which an entity grants the user the operation (a writer also reads). */
function entityBranches(
  principal: Extract<Principal, { kind: 'user' }>,
  op: Exclude<Operation, 'create'>,
): AclBranch[] {
  const groups = [...principal.groups];
  const roles = { [`_acl.roles.${ROLE_LIST[op]}`]: { $in: roleIds(principal) } };
  if (op === 'read') {
    return [
      { '_acl.creator': principal.userId },
      { '_acl.gr': true },
      { '_acl.gw': true },
      { '_acl.r': principal.userId },
      { '_acl.w': principal.userId },
      ...(groups.length ? [{ '_acl.groups.r': { $in: groups } }, { '_acl.groups.w': { $in: groups } }] : []),
      roles,
    ];
  }
  return [
    { '_acl.creator': principal.userId },
    { '_acl.gw': true },
    { '_acl.w': principal.userId },
    ...(groups.length ? [{ '_acl.groups.w': { $in: groups } }] : []),
    roles,
  ];
}

function canAccess(
  principal: Principal,
  permissions: CollectionPermissions,
  op: Exclude<Operation, 'create'>,
  entity: Readonly<Record<string, unknown>>,
): boolean {
  const held = heldAccess(principal, permissions, op);
  if (held.all) return true;
  if (principal.kind !== 'user') return false;
  const acl = aclOf(entity);
  const roleList = ownValue(ownValue(acl, 'roles'), ROLE_LIST[op]);
  if (intersects(roleList, held.grantRoles)) return true;
  if (!held.entity) return false;
  if (intersects(roleList, roleIds(principal))) return true;
  const writer =
    ownValue(acl, 'creator') === principal.userId ||
    ownValue(acl, 'gw') === true ||
    includes(ownValue(acl, 'w'), principal.userId) ||
    intersects(ownValue(ownValue(acl, 'groups'), 'w'), principal.groups);
  if (op !== 'read') return writer;
  return (
    writer ||
    ownValue(acl, 'gr') === true ||
    includes(ownValue(acl, 'r'), principal.userId) ||
    intersects(ownValue(ownValue(acl, 'groups'), 'r'), principal.groups)
  );
}

/** The ScopedFilter shape: the ACL clause alone, or first in a top-level `$and` (see ports.ts). */
function scoped(query: Filter, acl: AclClause | null): ScopedFilter | Filter {
  if (!acl) return query;
  if (Object.keys(query).length === 0) return acl;
  return { $and: [acl, query] };
}

// Security decisions read own properties only: nothing inherited through a prototype counts.
function aclOf(entity: Readonly<Record<string, unknown>>): unknown {
  const acl = ownValue(entity, '_acl');
  return typeof acl === 'object' && acl !== null && !Array.isArray(acl) ? acl : {};
}

function includes(list: unknown, id: string): boolean {
  return Array.isArray(list) && list.includes(id);
}

function intersects(list: unknown, ids: readonly string[]): boolean {
  return Array.isArray(list) && ids.some((id) => list.includes(id));
}
