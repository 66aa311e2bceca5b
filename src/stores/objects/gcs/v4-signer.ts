/**
 * Google Cloud Storage V4 signed URLs, written from Google's V4 signing process as pure functions:
 * canonical request -> string-to-sign -> signature -> URL. The signature itself is either an
 * HMAC (GOOG4-HMAC-SHA256, computed here) or an RSA signature produced elsewhere (GOOG4-RSA-SHA256,
 * see rsa-signer-pool.ts), so nothing here touches a private key or the event loop for long.
 *
 * Only query-string-authenticated GET/HEAD style URLs are built: the single signed header is `host`
 * and the payload is `UNSIGNED-PAYLOAD`, exactly as @google-cloud/storage signs a read URL.
 */
import { createHash, createHmac } from 'node:crypto';

export type V4Algorithm = 'GOOG4-HMAC-SHA256' | 'GOOG4-RSA-SHA256';

/** Longest lifetime a V4 signature may have (seven days). */
export const MAX_V4_EXPIRES_SECONDS = 7 * 24 * 60 * 60;

export interface V4UrlInput {
  algorithm: V4Algorithm;
  /** HTTP verb the URL is good for, e.g. 'GET'. */
  method: string;
  /** Origin the URL points at, e.g. `https://storage.googleapis.com` (path-style URLs only). */
  endpoint: string;
  bucket: string;
  /** Object name as stored (unencoded); '/' separates path segments and is kept. */
  objectName: string;
  /** HMAC access id, or the service account's `client_email` for RSA. */
  accessId: string;
  /** The signing time: X-Goog-Date and the credential scope's date. */
  signedAt: Date;
  /** Lifetime in whole seconds from `signedAt`, 1..604800. */
  expiresInSeconds: number;
}

/**
 * RFC 3986 encoding as GCS canonicalises it: everything except `A-Z a-z 0-9 - . _ ~` becomes
 * %XX of its UTF-8 bytes. encodeURIComponent also leaves `! ' ( ) *` alone, so those are added.
 */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/<bucket>/<object>` with every segment encoded and the slashes between them kept. */
export function resourcePath(bucket: string, objectName: string): string {
  return `/${uriEncode(bucket)}/${objectName.split('/').map(uriEncode).join('/')}`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYYMMDD` in UTC: the date of the credential scope. */
export function v4Datestamp(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
}

/** `YYYYMMDDTHHMMSSZ` in UTC: the X-Goog-Date value. */
export function v4Timestamp(date: Date): string {
  return `${v4Datestamp(date)}T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
}

/** `<YYYYMMDD>/auto/storage/goog4_request`: GCS signs for the pseudo-region `auto`. */
export function credentialScope(date: Date): string {
  return `${v4Datestamp(date)}/auto/storage/goog4_request`;
}

/**
 * The host the signature covers: the endpoint's hostname without a port, because that is what
 * @google-cloud/storage signs (real GCS never has a port; emulators do not check signatures).
 */
export function signedHost(endpoint: string): string {
  return new URL(endpoint).hostname;
}

/**
 * The X-Goog-* query parameters, in the order they appear in the final URL (the signature is
 * appended last by `signedUrl`). Throws RangeError when the lifetime is outside 1..604800 s.
 */
export function v4QueryParams(input: V4UrlInput): Array<[string, string]> {
  const { expiresInSeconds } = input;
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_V4_EXPIRES_SECONDS) {
    throw new RangeError(`a V4 signed URL lives 1..${MAX_V4_EXPIRES_SECONDS} whole seconds, not ${expiresInSeconds}`);
  }
  return [
    ['X-Goog-Algorithm', input.algorithm],
    ['X-Goog-Credential', `${input.accessId}/${credentialScope(input.signedAt)}`],
    ['X-Goog-Date', v4Timestamp(input.signedAt)],
    ['X-Goog-Expires', String(expiresInSeconds)],
    ['X-Goog-SignedHeaders', 'host'],
  ];
}

/** Query string with keys and values encoded (slashes too), in the given order. */
function encodeQuery(params: Array<[string, string]>): string {
  return params.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
}

/**
 * The canonical request: method, resource path, canonical query string (sorted by encoded name),
 * canonical headers (`host:<host>` plus its newline), signed headers, payload hash placeholder.
 */
export function buildCanonicalRequest(input: V4UrlInput): string {
  const sorted = v4QueryParams(input)
    .map(([k, v]): [string, string] => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    input.method,
    resourcePath(input.bucket, input.objectName),
    sorted.map(([k, v]) => `${k}=${v}`).join('&'),
    `host:${signedHost(input.endpoint)}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
}

/** Algorithm, timestamp, credential scope and the hex SHA-256 of the canonical request, one per line. */
export function buildStringToSign(input: Pick<V4UrlInput, 'algorithm' | 'signedAt'>, canonicalRequest: string): string {
  const hash = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  return [input.algorithm, v4Timestamp(input.signedAt), credentialScope(input.signedAt), hash].join('\n');
}

/**
 * The HMAC signing key for one day, derived from the secret as the spec chains it:
 * `GOOG4`+secret -> date (YYYYMMDD) -> `auto` -> `storage` -> `goog4_request`. It changes only
 * with the date, so callers signing many URLs can derive it once per day.
 */
export function deriveHmacSigningKey(secret: string, signedAt: Date): Buffer {
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
  return ['auto', 'storage', 'goog4_request'].reduce(
    (key, part) => hmac(key, part),
    hmac(`GOOG4${secret}`, v4Datestamp(signedAt)),
  );
}

/** The GOOG4-HMAC-SHA256 signature (lowercase hex) of `stringToSign` with a derived signing key. */
export function signWithHmacKey(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/** The GOOG4-HMAC-SHA256 signature (lowercase hex) of `stringToSign` for a URL signed at `signedAt`. */
export function signHmac(secret: string, signedAt: Date, stringToSign: string): string {
  return signWithHmacKey(deriveHmacSigningKey(secret, signedAt), stringToSign);
}

/**
 * The finished path-style URL: `<endpoint origin>/<bucket>/<object>?X-Goog-...&X-Goog-Signature=<hex>`.
 * `signatureHex` must be the signature of `buildStringToSign(input, buildCanonicalRequest(input))`.
 */
export function signedUrl(input: V4UrlInput, signatureHex: string): string {
  const origin = new URL(input.endpoint).origin;
  const query = encodeQuery([...v4QueryParams(input), ['X-Goog-Signature', signatureHex]]);
  return `${origin}${resourcePath(input.bucket, input.objectName)}?${query}`;
}
