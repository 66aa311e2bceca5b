/**
 * The ACL engine: Kinvey's collection permission levels combined with per-entity `_acl`.
 * Pure code. Decisions come in two equivalent forms: predicates for one entity in memory, and
 * filters that the DocumentStore applies, so lists, counts and deletes by query only ever touch
 * permitted entities. The two forms are tested against each other.
 */
import type { CollectionPermissions } from '../apps/app-definition';
import type { Filter } from '../ports';
import { errors } from '../errors';
import type { Principal } from './principal';
import { creatorId } from './principal';
import { isReservedKey, ownValue } from './safe-keys';

export interface EntityAcl {
  creator: string;
  gr?: boolean;
  gw?: boolean;
  r?: string[];
  w?: string[];
  groups?: { r?: string[]; w?: string[] };
  [extra: string]: unknown;
}

/** A filter that matches nothing: used when a principal may touch no entity at all. */
export const MATCH_NOTHING: Filter = { _id: { $in: [] } };

/** Whether the principal may create entities in a collection with these permissions. */
export function canCreate(principal: Principal, permissions: CollectionPermissions): boolean {
  if (principal.kind === 'master') return true;
  return principal.kind === 'user' && permissions !== 'read-only';
}

/**
 * The store filter restricting reads to what the principal may read, or null for "everything".
 * A writer is also a reader.
 */
export function readFilter(principal: Principal, permissions: CollectionPermissions): Filter | null {
  if (principal.kind === 'master' || permissions !== 'private') return null;
  if (principal.kind !== 'user') return MATCH_NOTHING;
  const groups = [...principal.groups];
  return {
    $or: [
      { '_acl.creator': principal.userId },
      { '_acl.gr': true },
      { '_acl.gw': true },
      { '_acl.r': principal.userId },
      { '_acl.w': principal.userId },
      ...(groups.length ? [{ '_acl.groups.r': { $in: groups } }, { '_acl.groups.w': { $in: groups } }] : []),
    ],
  };
}

/** The store filter restricting updates and deletes to what the principal may write, or null. */
export function writeFilter(principal: Principal, permissions: CollectionPermissions): Filter | null {
  if (principal.kind === 'master' || permissions === 'full') return null;
  if (principal.kind !== 'user' || permissions === 'read-only') return MATCH_NOTHING;
  const groups = [...principal.groups];
  return {
    $or: [
      { '_acl.creator': principal.userId },
      { '_acl.gw': true },
      { '_acl.w': principal.userId },
      ...(groups.length ? [{ '_acl.groups.w': { $in: groups } }] : []),
    ],
  };
}

/** In-memory twin of readFilter for one entity. */
export function canRead(principal: Principal, permissions: CollectionPermissions, entity: Readonly<Record<string, unknown>>): boolean {
  if (principal.kind === 'master' || permissions !== 'private') return true;
  if (principal.kind !== 'user') return false;
  const acl = aclOf(entity);
  return ownValue(acl, 'gr') === true || canWriteByAcl(principal, acl) || includes(ownValue(acl, 'r'), principal.userId) || intersects(ownValue(ownValue(acl, 'groups'), 'r'), principal.groups);
}

/** In-memory twin of writeFilter for one entity. */
export function canWrite(principal: Principal, permissions: CollectionPermissions, entity: Readonly<Record<string, unknown>>): boolean {
  if (principal.kind === 'master' || permissions === 'full') return true;
  if (principal.kind !== 'user' || permissions === 'read-only') return false;
  return canWriteByAcl(principal, aclOf(entity));
}

/**
 * Combines a client filter with an ACL filter (null means no restriction). The ACL comes first:
 * the embedded store evaluates `$and` in order and stops at the first clause that fails, so a
 * reader's filter (a regex probe, say) never runs on a document the reader cannot read, and its
 * cost cannot reveal anything about such documents.
 */
export function restrict(filter: Filter, acl: Filter | null): Filter {
  if (!acl) return filter;
  if (Object.keys(filter).length === 0) return acl;
  return { $and: [acl, filter] };
}

/**
 * The `_acl` to store: the client's `gr`, `gw`, `r`, `w`, `groups` (validated), with `creator`
 * always set by the server: kept from the existing entity, else the principal. Throws 400
 * BadRequest naming the malformed field.
 */
export function buildAcl(input: unknown, principal: Principal, existing?: Readonly<Record<string, unknown>>): EntityAcl {
  const previousCreator = existing ? ownValue(aclOf(existing), 'creator') as string | undefined : undefined;
  const creator = previousCreator || creatorId(principal);
  if (input === undefined || input === null) return { creator };
  if (!isPlainObject(input)) throw errors.badRequest('_acl must be an object.');
  const acl: EntityAcl = { creator };
  for (const [key, value] of Object.entries(input)) {
    if (isReservedKey(key)) throw errors.badRequest(`_acl.${key} is reserved.`);
    switch (key) {
      case 'creator':
        break; // never taken from the body
      case 'gr':
      case 'gw':
        if (typeof value !== 'boolean') throw errors.badRequest(`_acl.${key} must be a boolean.`);
        acl[key] = value;
        break;
      case 'r':
      case 'w':
        acl[key] = stringList(value, `_acl.${key}`);
        break;
      case 'groups': {
        if (!isPlainObject(value)) throw errors.badRequest('_acl.groups must be an object with r and w lists.');
        const groups: { r?: string[]; w?: string[] } = {};
        for (const [gk, gv] of Object.entries(value)) {
          if (gk !== 'r' && gk !== 'w') throw errors.badRequest(`_acl.groups.${gk} is not supported; use r and w.`);
          groups[gk] = stringList(gv, `_acl.groups.${gk}`);
        }
        acl.groups = groups;
        break;
      }
      default:
        // Kinvey's newer role lists and other extensions are stored as given (they grant nothing here).
        acl[key] = value;
    }
  }
  return acl;
}

// Security decisions read own properties only: nothing inherited through a prototype counts.
function canWriteByAcl(principal: Extract<Principal, { kind: 'user' }>, acl: Partial<EntityAcl>): boolean {
  return ownValue(acl, 'creator') === principal.userId || ownValue(acl, 'gw') === true || includes(ownValue(acl, 'w'), principal.userId)
    || intersects(ownValue(ownValue(acl, 'groups'), 'w'), principal.groups);
}

function aclOf(entity: Readonly<Record<string, unknown>>): Partial<EntityAcl> {
  const acl = ownValue(entity, '_acl');
  return isPlainObject(acl) ? acl : {};
}

function includes(list: unknown, id: string): boolean {
  return Array.isArray(list) && list.includes(id);
}

function intersects(list: unknown, ids: readonly string[]): boolean {
  return Array.isArray(list) && ids.some((id) => list.includes(id));
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw errors.badRequest(`${name} must be an array of ids.`);
  if (value.length > 1000) throw errors.badRequest(`${name} may hold at most 1000 ids.`);
  return [...new Set(value)];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
