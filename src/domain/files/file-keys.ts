/**
 * Where a file's bytes live in the object store. Client file ids are arbitrary strings (slashes,
 * `..`, control characters, any length), so they never become paths: keys are derived from a
 * hash, which is always a safe path segment and never collides across apps.
 *
 * Every upload writes a new *generation* of a file: `<appKey>/f/<sha256 hex of the id>/<generation>`,
 * the generation a random value the server stores in the record. A URL signed for one generation
 * can never serve another one, so a deleted file's URLs never serve a file later created with the
 * same id, and an upload session the record no longer points at writes bytes nobody is served.
 * Records written before generations keep their bytes at the legacy key `<appKey>/<sha256 hex>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors } from '../errors';

const SAFE_APP_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const GENERATION = /^[A-Za-z0-9_-]{16,64}$/;

function idHash(appKey: string, fileId: string): string {
  if (!SAFE_APP_KEY.test(appKey)) throw errors.kinveyInternalErrorStop('app key is not a safe object key segment');
  return createHash('sha256').update(fileId, 'utf8').digest('hex');
}

/** A fresh generation: 128 random bits, base64url (a safe key segment). */
export function newGeneration(): string {
  return randomBytes(16).toString('base64url');
}

/** The key prefix under which every generation of one file lives (`<appKey>/f/<sha256 hex>`). */
export function fileKeyPrefix(appKey: string, fileId: string): string {
  return `${appKey}/f/${idHash(appKey, fileId)}`;
}

/** The legacy key of a file recorded before generations (`<appKey>/<sha256 hex>`). */
export function legacyObjectKeyFor(appKey: string, fileId: string): string {
  return `${appKey}/${idHash(appKey, fileId)}`;
}

/**
 * The object key of one generation of a file. Throws 500 for an app key that is not a safe
 * segment (app keys are validated at configuration time) or a generation the server did not
 * make (records are server-written, so either is a bug).
 */
export function objectKeyFor(appKey: string, fileId: string, generation: string): string {
  if (!GENERATION.test(generation))
    throw errors.kinveyInternalErrorStop('file generation is not a safe object key segment');
  return `${fileKeyPrefix(appKey, fileId)}/${generation}`;
}
