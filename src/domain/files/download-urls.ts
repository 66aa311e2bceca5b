/**
 * The one place download URLs are issued, for /blob reads and KinveyFile references alike:
 * permanent unsigned URLs for public files, signed expiring URLs for private ones.
 */
import type { ObjectStore } from '../ports';
import { errors } from '../errors';

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
  /** Image variant presets whose links to add as `_variants` (`kinveyfile_variants`); none when absent. */
  variants?: readonly string[];
  /** A preset whose link replaces `_downloadURL` (`GET /blob/:appKey/:id?variant=`), for image files. */
  variant?: string;
}

/** The longest quantisation window: URLs stay identical for at most this long. */
export const MAX_QUANTUM_SECONDS = 300;

/**
 * The expiry actually signed for a TTL: now + ttl rounded UP to a window of a tenth of the TTL
 * (1 s to 5 min), aligned on the epoch. Every read inside one window signs the same expiry, so it
 * gets the identical URL (browsers and CDNs can cache it), and the URL never expires before
 * now + ttl.
 */
export function quantisedExpiry(now: Date, ttlSeconds: number): Date {
  const windowMs = Math.min(Math.max(Math.floor(ttlSeconds / 10), 1), MAX_QUANTUM_SECONDS) * 1000;
  const earliest = now.getTime() + ttlSeconds * 1000;
  return new Date(Math.ceil(earliest / windowMs) * windowMs);
}

/** Issues the download URL of one stored object. */
export async function issueDownloadLink(
  objects: ObjectStore,
  key: string,
  isPublic: boolean,
  options: LinkOptions,
): Promise<DownloadLink> {
  if (isPublic) return { url: objects.publicUrl(key, { https: options.https }) };
  const expiresAt = quantisedExpiry(options.now, options.ttlSeconds);
  return { url: await objects.signDownloadUrl(key, { expiresAt, https: options.https }), expiresAt };
}

/**
 * The URL of a stored object valid until exactly `expiresAt` (a pending variant link redirecting
 * to the variant it made: the redirect expires with the link), or permanent for a public file.
 */
export async function issueDownloadLinkUntil(
  objects: ObjectStore,
  key: string,
  isPublic: boolean,
  until: { expiresAt: Date | undefined; https: boolean },
): Promise<string> {
  if (isPublic || !until.expiresAt) return objects.publicUrl(key, { https: until.https });
  return objects.signDownloadUrl(key, { expiresAt: until.expiresAt, https: until.https });
}

/** Where a variant's link points: its stored object, or kinbase while it is not made yet. */
export interface VariantTarget {
  /** The variant's object key, when the variant is stored. */
  storedKey?: string;
  /** Kinbase's pending link, signed until `expiresAt` (absent: a public file's permanent link). */
  pendingUrl: (expiresAt: Date | undefined) => string;
}

/**
 * Issues the download URL of an image variant by the original's rules: a public file's variant
 * gets a permanent URL, a private one's a signed URL expiring when the original's would (same
 * quantised window, so repeated reads get identical URLs). A variant not stored yet gets kinbase's
 * pending link under the same rules; once stored, the object store's own URL.
 */
export async function issueVariantLink(
  objects: ObjectStore,
  target: VariantTarget,
  isPublic: boolean,
  options: LinkOptions,
): Promise<DownloadLink> {
  if (target.storedKey) return issueDownloadLink(objects, target.storedKey, isPublic, options);
  if (isPublic) return { url: target.pendingUrl(undefined) };
  const expiresAt = quantisedExpiry(options.now, options.ttlSeconds);
  return { url: target.pendingUrl(expiresAt), expiresAt };
}

/**
 * Parses a TTL parameter (`ttl_in_seconds`, `kinveyfile_ttl`): absent means the default;
 * outside 1 s .. 7 days, or not an integer, is 400 ParameterValueOutOfRange.
 */
export function parseTtl(raw: unknown, name: string, defaultSeconds: number): number {
  if (raw === undefined || raw === '') return defaultSeconds;
  const value = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= MIN_URL_TTL_SECONDS && value <= MAX_URL_TTL_SECONDS)) {
    throw errors.parameterValueOutOfRange(
      `${name} must be an integer from ${MIN_URL_TTL_SECONDS} to ${MAX_URL_TTL_SECONDS} seconds.`,
    );
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
