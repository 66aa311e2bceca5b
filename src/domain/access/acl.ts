/**
 * The per-entity `_acl` as stored: its shape, and the validated `_acl` a write stores (buildAcl).
 * Who may read or write what, and how that enters a query, is acl-scope.ts.
 */
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
  roles?: { r?: string[]; u?: string[]; d?: string[] };
  [extra: string]: unknown;
}

// The ACL rule itself (filters and predicates) lives in acl-scope.ts, the one place it enters a
// query; re-exported here for callers that test the two forms against each other.
export { MATCH_NOTHING, canCreate, canRead, canWrite, readFilter, writeFilter } from './acl-scope';

/**
 * Combines a filter with a restricting filter (null means no restriction), the restriction first
 * (`{$and: [restriction, filter]}`), as for "active users only". Not for the ACL: services
 * restrict by ACL through AclScope (acl-scope.ts), which builds the typed ScopedFilter.
 */
export function restrict(filter: Filter, restriction: Filter | null): Filter {
  if (!restriction) return filter;
  if (Object.keys(filter).length === 0) return restriction;
  return { $and: [restriction, filter] };
}

/**
 * The `_acl` to store: the client's `gr`, `gw`, `r`, `w`, `groups`, `roles` (validated), with `creator`
 * always set by the server: kept from the existing entity, else the principal. Throws 400
 * BadRequest naming the malformed field.
 */
export function buildAcl(
  input: unknown,
  principal: Principal,
  existing?: Readonly<Record<string, unknown>>,
): EntityAcl {
  const previousCreator = existing ? (ownValue(aclOf(existing), 'creator') as string | undefined) : undefined;
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
      case 'roles': {
        // Role ids grant read, update and delete (acl-scope.ts): only lists of ids, nothing else.
        if (!isPlainObject(value)) throw errors.badRequest('_acl.roles must be an object with r, u and d lists.');
        const roles: { r?: string[]; u?: string[]; d?: string[] } = {};
        for (const [rk, rv] of Object.entries(value)) {
          if (rk !== 'r' && rk !== 'u' && rk !== 'd')
            throw errors.badRequest(`_acl.roles.${rk} is not supported; use r, u and d.`);
          roles[rk] = roleIdList(rv, `_acl.roles.${rk}`);
        }
        acl.roles = roles;
        break;
      }
      default:
        // Other extensions are stored as given (they grant nothing here).
        acl[key] = value;
    }
  }
  return acl;
}

function aclOf(entity: Readonly<Record<string, unknown>>): Partial<EntityAcl> {
  const acl = ownValue(entity, '_acl');
  return isPlainObject(acl) ? acl : {};
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw errors.badRequest(`${name} must be an array of ids.`);
  if (value.length > 1000) throw errors.badRequest(`${name} may hold at most 1000 ids.`);
  return [...new Set(value)];
}

/** A list of role ids: like any id list, and each a non-empty id of at most ROLE_ID_MAX characters. */
function roleIdList(value: unknown, name: string): string[] {
  const ids = stringList(value, name);
  if (ids.some((id) => id.length === 0 || id.length > ROLE_ID_MAX || !id.isWellFormed()))
    throw errors.badRequest(`${name} must hold role ids (1 to ${ROLE_ID_MAX} characters each).`);
  return ids;
}

/** The longest role id `_acl.roles` accepts (generated ids are far shorter). */
export const ROLE_ID_MAX = 128;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
