/**
 * KinveyFile references inside entities: `{"_type":"KinveyFile","_id":"<file id>"}` at any depth,
 * inside objects and arrays. On save every reference is reduced to exactly `{_type, _id}` (so an
 * entity read and saved back never stores a URL or stale metadata); on read the references of a
 * whole response are collected for one batched lookup. `KinveyRef` and other objects are untouched.
 */
import { isPlainObject } from '../access/acl';
import { MAX_ID_LENGTH } from '../appdata/entity-fields';
import { errors } from '../errors';
import { isReservedKey } from '../access/safe-keys';

export const KINVEY_FILE = 'KinveyFile';

/**
 * Bounds that keep a hostile document from exhausting the server on read. References nested
 * deeper than MAX_REFERENCE_DEPTH, or beyond the first MAX_REFERENCES_PER_RESPONSE reference
 * sites of one response, are returned as stored (bare `{_type, _id}`), never an error.
 */
export const MAX_REFERENCE_DEPTH = 64;
export const MAX_REFERENCES_PER_RESPONSE = 10_000;
/**
 * Most references one saved body may hold (a save with more is 400): every read of the entity
 * looks each one up, checks access and signs a URL, so this bounds what one read of it costs.
 */
export const MAX_REFERENCES_PER_ENTITY = 1_000;

export interface FileReference {
  _type: typeof KINVEY_FILE;
  _id: string;
}

/** Where one reference sits: `holder[slot]` is the reference object. */
export interface ReferenceSite {
  holder: Record<string, unknown> | unknown[];
  slot: string | number;
  id: string;
}

function isReferenceShape(value: unknown): value is Record<string, unknown> & { _type: typeof KINVEY_FILE } {
  return isPlainObject(value) && value._type === KINVEY_FILE;
}

/**
 * Returns a copy of the body with every KinveyFile reference reduced to `{_type, _id}`.
 * Throws 400 BadRequest for a reference whose `_id` is not a non-empty string. Non-object bodies
 * are returned unchanged (the caller's own validation rejects them).
 */
export function stripFileReferences<T>(body: T): T {
  return strip(body, '', { references: 0 }) as T;
}

function strip(value: unknown, at: string, seen: { references: number }): unknown {
  if (Array.isArray(value)) return value.map((item, i) => strip(item, `${at}[${i}]`, seen));
  if (!isPlainObject(value)) return value;
  if (isReferenceShape(value)) {
    if (++seen.references > MAX_REFERENCES_PER_ENTITY) {
      throw errors.badRequest(`An entity may hold at most ${MAX_REFERENCES_PER_ENTITY} KinveyFile references.`);
    }
    const id = value._id;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw errors.badRequest(
        `The KinveyFile reference at ${at || 'the top level'} needs a string _id of 1 to ${MAX_ID_LENGTH} characters.`,
      );
    }
    return { _type: KINVEY_FILE, _id: id };
  }
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const stripped = strip(inner, at ? `${at}.${key}` : key, seen);
    // An own `__proto__` key stays an own key (assignment would set the copy's prototype and hide
    // it from the body validation that refuses it).
    if (isReservedKey(key))
      Object.defineProperty(copy, key, { value: stripped, enumerable: true, writable: true, configurable: true });
    else copy[key] = stripped;
  }
  return copy;
}

/**
 * Finds the reference sites in these documents, depth-first, within the bounds above. The
 * documents themselves are never treated as references (a stored file record is not a link).
 */
export function collectReferenceSites(docs: readonly unknown[]): ReferenceSite[] {
  const sites: ReferenceSite[] = [];
  const visit = (
    holder: Record<string, unknown> | unknown[],
    slot: string | number,
    value: unknown,
    depth: number,
  ): void => {
    if (sites.length >= MAX_REFERENCES_PER_RESPONSE || depth > MAX_REFERENCE_DEPTH) return;
    if (isReferenceShape(value)) {
      if (typeof value._id === 'string') sites.push({ holder, slot, id: value._id });
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value, i, value[i], depth + 1);
    } else if (isPlainObject(value)) {
      visitFields(value, depth + 1);
    }
  };
  // for...in over own keys: no entries array per object (this walk runs on every read).
  const visitFields = (object: Record<string, unknown>, depth: number): void => {
    for (const key in object) if (Object.hasOwn(object, key)) visit(object, key, object[key], depth);
  };
  for (const doc of docs) {
    if (isPlainObject(doc)) visitFields(doc, 1);
  }
  return sites;
}
