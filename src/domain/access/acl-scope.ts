/**
 * The only place the ACL enters a query. Kinvey's collection permission levels combined with the
 * per-entity `_acl` decide what a principal may read and write, in two equivalent forms: filters
 * (AclClause, see domain/ports.ts) that the DocumentStore applies, so lists, counts, groups,
 * tombstone reads and deletes by query only ever touch permitted entities; and predicates for one
 * entity in memory. The two forms are tested against each other (test/unit/acl.test.ts).
 *
 * Services never build an ACL filter themselves: they take an AclScope (`aclScope(principal,
 * permissions)`) and ask it for `readable(query)` / `writable(query)` (the query restricted, ACL
 * clause first) or `canRead(doc)` / `canWrite(doc)`. A new ACL branch (roles, say) is added here:
 * to readFilter/writeFilter, to canRead/canWrite, and its field to ACL_INDEX_FIELDS.
 */
import type { CollectionPermissions } from '../apps/app-definition';
import type { AclBranch, AclClause, Filter, ScopedFilter } from '../ports';
import type { Principal } from './principal';
import { ownValue } from './safe-keys';

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
];

/** A filter that matches nothing: used when a principal may touch no entity at all. */
export const MATCH_NOTHING = { _id: { $in: [] } } as const satisfies AclClause;

/** What one principal may read and write in one collection: the ACL, applied the one way. */
export interface AclScope {
  /** `query` restricted to the entities the principal may read (ACL clause first). */
  readable(query: Filter): ScopedFilter | Filter;
  /** `query` restricted to the entities the principal may update or delete (ACL clause first). */
  writable(query: Filter): ScopedFilter | Filter;
  /**
   * The condition a single-entity write (replace, delete by id) must still meet when it lands,
   * closing the read-check-write race; undefined when the principal may write every entity.
   */
  writeCondition(): AclClause | undefined;
  /** Whether the principal may create entities in the collection. */
  canCreate(): boolean;
  /** In-memory twin of `readable`: whether the principal may read this entity. */
  canRead(entity: Readonly<Record<string, unknown>>): boolean;
  /** In-memory twin of `writable`: whether the principal may update or delete this entity. */
  canWrite(entity: Readonly<Record<string, unknown>>): boolean;
}

/** The ACL scope of `principal` (its groups included) in a collection with these permissions. */
export function aclScope(principal: Principal, permissions: CollectionPermissions): AclScope {
  const read = readFilter(principal, permissions);
  const write = writeFilter(principal, permissions);
  return {
    readable: (query) => scoped(query, read),
    writable: (query) => scoped(query, write),
    writeCondition: () => write ?? undefined,
    canCreate: () => canCreate(principal, permissions),
    canRead: (entity) => canRead(principal, permissions, entity),
    canWrite: (entity) => canWrite(principal, permissions, entity),
  };
}

/** Whether the principal may create entities in a collection with these permissions. */
export function canCreate(principal: Principal, permissions: CollectionPermissions): boolean {
  if (principal.kind === 'master') return true;
  return principal.kind === 'user' && permissions !== 'read-only';
}

/**
 * The ACL clause restricting reads to what the principal may read, or null for "everything".
 * A writer is also a reader. Services use `aclScope(...).readable` instead.
 */
export function readFilter(principal: Principal, permissions: CollectionPermissions): AclClause | null {
  if (principal.kind === 'master' || permissions !== 'private') return null;
  if (principal.kind !== 'user') return MATCH_NOTHING;
  const groups = [...principal.groups];
  const branches: AclBranch[] = [
    { '_acl.creator': principal.userId },
    { '_acl.gr': true },
    { '_acl.gw': true },
    { '_acl.r': principal.userId },
    { '_acl.w': principal.userId },
    ...(groups.length ? [{ '_acl.groups.r': { $in: groups } }, { '_acl.groups.w': { $in: groups } }] : []),
  ];
  return { $or: branches };
}

/** The ACL clause restricting updates and deletes to what the principal may write, or null. */
export function writeFilter(principal: Principal, permissions: CollectionPermissions): AclClause | null {
  if (principal.kind === 'master' || permissions === 'full') return null;
  if (principal.kind !== 'user' || permissions === 'read-only') return MATCH_NOTHING;
  const groups = [...principal.groups];
  const branches: AclBranch[] = [
    { '_acl.creator': principal.userId },
    { '_acl.gw': true },
    { '_acl.w': principal.userId },
    ...(groups.length ? [{ '_acl.groups.w': { $in: groups } }] : []),
  ];
  return { $or: branches };
}

/** In-memory twin of readFilter for one entity. */
export function canRead(
  principal: Principal,
  permissions: CollectionPermissions,
  entity: Readonly<Record<string, unknown>>,
): boolean {
  if (principal.kind === 'master' || permissions !== 'private') return true;
  if (principal.kind !== 'user') return false;
  const acl = aclOf(entity);
  return (
    ownValue(acl, 'gr') === true ||
    canWriteByAcl(principal, acl) ||
    includes(ownValue(acl, 'r'), principal.userId) ||
    intersects(ownValue(ownValue(acl, 'groups'), 'r'), principal.groups)
  );
}

/** In-memory twin of writeFilter for one entity. */
export function canWrite(
  principal: Principal,
  permissions: CollectionPermissions,
  entity: Readonly<Record<string, unknown>>,
): boolean {
  if (principal.kind === 'master' || permissions === 'full') return true;
  if (principal.kind !== 'user' || permissions === 'read-only') return false;
  return canWriteByAcl(principal, aclOf(entity));
}

/** The ScopedFilter shape: the ACL clause alone, or first in a top-level `$and` (see ports.ts). */
function scoped(query: Filter, acl: AclClause | null): ScopedFilter | Filter {
  if (!acl) return query;
  if (Object.keys(query).length === 0) return acl;
  return { $and: [acl, query] };
}

// Security decisions read own properties only: nothing inherited through a prototype counts.
function canWriteByAcl(principal: Extract<Principal, { kind: 'user' }>, acl: unknown): boolean {
  return (
    ownValue(acl, 'creator') === principal.userId ||
    ownValue(acl, 'gw') === true ||
    includes(ownValue(acl, 'w'), principal.userId) ||
    intersects(ownValue(ownValue(acl, 'groups'), 'w'), principal.groups)
  );
}

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
