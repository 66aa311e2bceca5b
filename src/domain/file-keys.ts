/**
 * Where a file's bytes live in the object store. Client file ids are arbitrary strings (slashes,
 * `..`, control characters, any length), so they never become paths: the key is derived from a
 * hash, which is always a safe path segment and never collides across apps.
 */
import { createHash } from 'node:crypto';
import { errors } from './errors';

const SAFE_APP_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The object key of one file: `<appKey>/<sha256 hex of the file id>`. Throws 500 for an app key
 * that is not a safe segment (app keys are validated at configuration time, so this is a bug).
 */
export function objectKeyFor(appKey: string, fileId: string): string {
  if (!SAFE_APP_KEY.test(appKey)) throw errors.kinveyInternalErrorStop('app key is not a safe object key segment');
  return `${appKey}/${createHash('sha256').update(fileId, 'utf8').digest('hex')}`;
}
