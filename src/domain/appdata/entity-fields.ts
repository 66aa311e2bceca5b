/**
 * Server-owned entity fields and identifiers: `_id` generation and validation, `_kmd`
 * timestamps, collection names, and the shape rules every stored body follows.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../errors';
import { isPlainObject } from '../access/acl';
import { isReservedKey, isWellFormed } from '../access/safe-keys';

export const MAX_ID_LENGTH = 1024;
export const MAX_BODY_DEPTH = 100;
/**
 * Most keys and array elements one body may hold, counted at every depth. Every save and read of
 * an entity walks it several times (validation, reference stripping, storage, serialisation), so
 * this bounds what one request can cost everyone else.
 */
export const MAX_BODY_NODES = 10_000;

const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Per-process part of generated ids (2 random bytes). */
const PROCESS_ID = randomBytes(2).toString('hex');
/** Increasing counter of generated ids (3 bytes), starting in its lower half so that a process wraps it only after 8 million ids. */
let idCounter = randomBytes(3).readUIntBE(0, 3) >> 1;
/** The last id's time in microseconds: a process's ids never go back in time. */
let lastMicros = 0;

/**
 * A server-generated id, laid out like a MongoDB ObjectId and kept as a string (24 hex digits): 4
 * bytes of seconds, 3 bytes of microseconds within the second, 2 random bytes per process, a
 * 3-byte counter that increases with every id. The microseconds order the ids of several worker
 * processes (KINBASE_WORKERS) by creation as well, not only those of one process, so entities
 * listed without a `sort` come back in the order they were created whichever worker made them.
 */
export function newEntityId(now: Date = new Date()): string {
  const ms = now.getTime();
  // Sub-millisecond precision from the high-resolution clock when `now` is the present (a test
  // clock's date is used as it is).
  const precise = performance.timeOrigin + performance.now();
  const fraction = Math.abs(precise - ms) < 1 ? Math.floor((precise - Math.floor(precise)) * 1000) : 0;
  // The two clocks may disagree by a fraction of a millisecond: never step back within one.
  const at = ms * 1000 + fraction;
  const time = at < lastMicros && lastMicros - at < 1000 ? lastMicros : at;
  lastMicros = time;
  const seconds = Math.floor(time / 1_000_000);
  const micros = time - seconds * 1_000_000;
  idCounter = (idCounter + 1) % 0x1000000;
  return (
    seconds.toString(16).padStart(8, '0').slice(-8) +
    micros.toString(16).padStart(6, '0') +
    PROCESS_ID +
    idCounter.toString(16).padStart(6, '0')
  );
}

/** Validates a client-supplied id: any non-empty string up to 1024 characters, kept as is. */
export function checkClientId(id: unknown, where = '_id'): string {
  if (typeof id !== 'string' || id.length === 0) throw errors.invalidIdentifier(`${where} must be a non-empty string.`);
  if (id.length > MAX_ID_LENGTH)
    throw errors.invalidIdentifier(`${where} may be at most ${MAX_ID_LENGTH} characters long.`);
  // A lone surrogate has no exact UTF-8 form: stores and hashes would see a different id.
  if (!isWellFormed(id)) throw errors.invalidIdentifier(`${where} holds a lone UTF-16 surrogate.`);
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
    throw errors.indirectCollectionAccessDisallowed(
      `Collection ${name.slice(0, 64)} is a system collection; use its own API (/user, /blob, /group).`,
    );
  }
  if (!COLLECTION_NAME.test(name)) {
    throw errors.invalidIdentifier(
      'Collection names are 1-128 letters, digits, "_" or "-", starting with a letter or digit.',
    );
  }
  return name;
}

/**
 * Checks a client entity body: a JSON object whose field names can be stored by every document
 * store (no leading `$`, no `.`, no NUL, none of `__proto__`, `constructor`, `prototype`), whose
 * strings are well-formed UTF-16, nested at most MAX_BODY_DEPTH levels and holding at most
 * MAX_BODY_NODES keys and array elements. Throws 400 BadRequest naming the first offending field.
 */
export function checkEntityBody(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw errors.badRequest('The request body must be a JSON object.');
  checkFieldNames(body, 1, '', { nodes: 0 });
  return body;
}

function checkFieldNames(value: unknown, depth: number, at: string, budget: { nodes: number }): void {
  if (depth > MAX_BODY_DEPTH) throw errors.badRequest(`The entity nests deeper than ${MAX_BODY_DEPTH} levels.`);
  if (typeof value === 'string') {
    if (!isWellFormed(value))
      throw errors.badRequest(
        `The string at ${at || 'the top level'} holds a lone UTF-16 surrogate; send well-formed Unicode.`,
      );
  } else if (Array.isArray(value)) {
    countNodes(budget, value.length);
    value.forEach((item, i) => checkFieldNames(item, depth + 1, `${at}[${i}]`, budget));
  } else if (isPlainObject(value)) {
    const keys = Object.keys(value);
    countNodes(budget, keys.length);
    for (const key of keys) {
      const name = (at ? `${at}.` : '') + key.slice(0, 100);
      if (key.startsWith('$') || key.includes('.') || key.includes('\0') || key === '') {
        throw errors.badRequest(
          `Field name "${name}" is not allowed: names may not be empty, start with "$" or contain "." or NUL.`,
        );
      }
      if (isReservedKey(key))
        throw errors.badRequest(
          `Field name "${name}" is reserved (__proto__, constructor and prototype are never field names).`,
        );
      if (!isWellFormed(key))
        throw errors.badRequest(`Field name "${name}" holds a lone UTF-16 surrogate; send well-formed Unicode.`);
      checkFieldNames(value[key], depth + 1, at ? `${at}.${key}` : key, budget);
    }
  }
}

function countNodes(budget: { nodes: number }, more: number): void {
  budget.nodes += more;
  if (budget.nodes > MAX_BODY_NODES)
    throw errors.badRequest(
      `The body holds more than ${MAX_BODY_NODES} fields and array elements; store large content through the Files API.`,
    );
}
