/**
 * The one place download URLs are issued, for /blob reads and KinveyFile references alike:
 * permanent unsigned URLs for public files, signed expiring URLs for private ones.
 */
import type { ObjectStore } from '../ports';
import { errors } from './errors';

export const MIN_URL_TTL_SECONDS = 1;
export const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

export interface DownloadLink {
  url: string;
  /** Absent for public files: their URL does not expire. */
  expiresAt?: Date;
}

export interface LinkOptions {
  ttlSeconds: number;
  https: boolean;
  now: Date;
}

/** Issues the download URL of one stored object. */
export async function issueDownloadLink(objects: ObjectStore, key: string, isPublic: boolean, options: LinkOptions): Promise<DownloadLink> {
  if (isPublic) return { url: objects.publicUrl(key, { https: options.https }) };
  const expiresAt = new Date(options.now.getTime() + options.ttlSeconds * 1000);
  return { url: await objects.signDownloadUrl(key, { expiresAt, https: options.https }), expiresAt };
}

/**
 * Parses a TTL parameter (`ttl_in_seconds`, `kinveyfile_ttl`): absent means the default;
 * outside 1 s .. 7 days, or not an integer, is 400 ParameterValueOutOfRange.
 */
export function parseTtl(raw: unknown, name: string, defaultSeconds: number): number {
  if (raw === undefined || raw === '') return defaultSeconds;
  const value = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= MIN_URL_TTL_SECONDS && value <= MAX_URL_TTL_SECONDS)) {
    throw errors.parameterValueOutOfRange(`${name} must be an integer from ${MIN_URL_TTL_SECONDS} to ${MAX_URL_TTL_SECONDS} seconds.`);
  }
  return value;
}

/**
 * Parses a TLS parameter (`tls`, `kinveyfile_tls`): `true` gives https, `false` http; absent
 * means the scheme of the configured public URL.
 */
export function parseTls(raw: unknown, name: string, defaultHttps: boolean): boolean {
  if (raw === undefined || raw === '') return defaultHttps;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw errors.parameterValueOutOfRange(`${name} must be true or false.`);
}
