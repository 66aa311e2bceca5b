/**
 * Server-owned entity fields and identifiers: `_id` generation and validation, `_kmd`
 * timestamps, collection names, and the shape rules every stored body follows.
 */
import { randomBytes } from 'node:crypto';
import { errors } from './errors';
import { isPlainObject } from './acl';

export const MAX_ID_LENGTH = 1024;
export const MAX_BODY_DEPTH = 100;

const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** A server-generated id: 24 lowercase hex characters (time-ordered, like an ObjectId), as a string. */
export function newEntityId(now: Date = new Date()): string {
  const seconds = Math.floor(now.getTime() / 1000).toString(16).padStart(8, '0').slice(-8);
  return seconds + randomBytes(8).toString('hex');
}

/** Validates a client-supplied id: any non-empty string up to 1024 characters, kept as is. */
export function checkClientId(id: unknown, where = '_id'): string {
  if (typeof id !== 'string' || id.length === 0) throw errors.invalidIdentifier(`${where} must be a non-empty string.`);
  if (id.length > MAX_ID_LENGTH) throw errors.invalidIdentifier(`${where} may be at most ${MAX_ID_LENGTH} characters long.`);
  return id;
}

/** ISO-8601 UTC with milliseconds, the only timestamp format on the wire. */
export function isoTimestamp(date: Date): string {
  return date.toISOString();
}

/** Kinvey's entity metadata, always set by the server. */
export function buildKmd(now: Date, existing?: Readonly<Record<string, unknown>>): { lmt: string; ect: string } {
  const previous = existing && isPlainObject(existing._kmd) ? existing._kmd : undefined;
  const ect = typeof previous?.ect === 'string' ? previous.ect : isoTimestamp(now);
  return { lmt: isoTimestamp(now), ect };
}

/**
 * Validates an /appdata collection name. System collections (`user`, `_blob`, anything starting
 * with `_`) have their own APIs: 403 IndirectCollectionAccessDisallowed. Other bad names: 400.
 */
export function checkAppdataCollection(name: string): string {
  if (name === 'user' || name.startsWith('_')) {
    throw errors.indirectCollectionAccessDisallowed(`Collection ${name.slice(0, 64)} is a system collection; use its own API (/user, /blob, /group).`);
  }
  if (!COLLECTION_NAME.test(name)) {
    throw errors.invalidIdentifier('Collection names are 1-128 letters, digits, "_" or "-", starting with a letter or digit.');
  }
  return name;
}

/**
 * Checks a client entity body: a JSON object whose field names can be stored by every document
 * store (no leading `$`, no `.`, no NUL), nested at most MAX_BODY_DEPTH levels.
 * Throws 400 BadRequest naming the first offending field.
 */
export function checkEntityBody(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw errors.badRequest('The request body must be a JSON object.');
  checkFieldNames(body, 1, '');
  return body;
}

function checkFieldNames(value: unknown, depth: number, at: string): void {
  if (depth > MAX_BODY_DEPTH) throw errors.badRequest(`The entity nests deeper than ${MAX_BODY_DEPTH} levels.`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkFieldNames(item, depth + 1, `${at}[${i}]`));
  } else if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('.') || key.includes('\0') || key === '') {
        throw errors.badRequest(`Field name "${(at ? `${at}.` : '') + key.slice(0, 100)}" is not allowed: names may not be empty, start with "$" or contain "." or NUL.`);
      }
      checkFieldNames(inner, depth + 1, at ? `${at}.${key}` : key);
    }
  }
}
