/**
 * AWS Signature Version 4 for S3, as pure functions beside the GCS V4 signer (../gcs/v4-signer.ts):
 * canonical request -> string-to-sign -> HMAC signature, for requests signed in the Authorization
 * header (kinbase's own calls) and for query-presigned URLs (downloads handed to clients).
 *
 * Signing is HMAC only: no network call, and the signing key, which changes once a day, is derived
 * by the caller once per day (`deriveSigningKey`). Object keys are encoded the way S3 canonicalises
 * them: every byte but `A-Z a-z 0-9 - . _ ~` as %XX, slashes between segments kept, never encoded
 * twice. The payload of header-signed requests is `UNSIGNED-PAYLOAD` (bodies stream; TLS protects
 * them on the wire, and S3, R2, B2 and MinIO all accept it).
 */
import { createHash, createHmac } from 'node:crypto';
import { uriEncode } from '../gcs/v4-signer';

export { uriEncode };

/** Longest lifetime SigV4 allows a presigned URL (seven days). */
export const MAX_SIGV4_EXPIRES_SECONDS = 7 * 24 * 60 * 60;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYYMMDD` in UTC: the date of the credential scope. */
export function amzDatestamp(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
}

/** `YYYYMMDDTHHMMSSZ` in UTC: the X-Amz-Date value. */
export function amzTimestamp(date: Date): string {
  return `${amzDatestamp(date)}T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
}

export function credentialScope(date: Date, region: string): string {
  return `${amzDatestamp(date)}/${region}/s3/aws4_request`;
}

/** An object key as a canonical URI path: each '/'-separated segment encoded, the slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/**
 * The signing key of one day and region: HMAC chain `AWS4`+secret -> date -> region -> `s3` ->
 * `aws4_request`. It depends only on the date, so it is derived once a day and kept.
 */
export function deriveSigningKey(secretAccessKey: string, date: Date, region: string): Buffer {
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
  return [region, 's3', 'aws4_request'].reduce(
    (key, part) => hmac(key, part),
    hmac(`AWS4${secretAccessKey}`, amzDatestamp(date)),
  );
}

/** One request to sign: the URL is final (path encoded, query included), headers lowercase. */
export interface SigV4Request {
  method: string;
  url: URL;
  /** Headers to sign besides host (lowercase names). */
  headers: Record<string, string>;
  payloadHash: string;
  signedAt: Date;
}

function canonicalQuery(params: URLSearchParams): string {
  const pairs: Array<[string, string]> = [];
  params.forEach((value, name) => pairs.push([uriEncode(name), uriEncode(value)]));
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * The canonical request. The URI is the URL's path as sent (already encoded by `encodeKeyPath`;
 * S3 does not encode it again). The host is the URL's host, port included when not the scheme's
 * default, exactly as the HTTP client sends it.
 */
export function canonicalRequest(req: SigV4Request): { text: string; signedHeaders: string } {
  const headers: Record<string, string> = { host: req.url.host };
  for (const [name, value] of Object.entries(req.headers))
    headers[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ');
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const text = [
    req.method,
    req.url.pathname,
    canonicalQuery(req.url.searchParams),
    names.map((name) => `${name}:${headers[name]}\n`).join(''),
    signedHeaders,
    req.payloadHash,
  ].join('\n');
  return { text, signedHeaders };
}

export function stringToSign(signedAt: Date, region: string, canonical: string): string {
  const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
  return ['AWS4-HMAC-SHA256', amzTimestamp(signedAt), credentialScope(signedAt, region), hash].join('\n');
}

export function signature(signingKey: Buffer, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
}

/**
 * The headers that authenticate one request (Authorization, X-Amz-Date, X-Amz-Content-Sha256),
 * to be sent with `req.headers`. `signingKey` must be the one of `req.signedAt`'s date.
 */
export function authorizationHeaders(
  creds: SigV4Credentials,
  signingKey: Buffer,
  req: SigV4Request,
): Record<string, string> {
  const extra = { 'x-amz-date': amzTimestamp(req.signedAt), 'x-amz-content-sha256': req.payloadHash };
  const { text, signedHeaders } = canonicalRequest({ ...req, headers: { ...req.headers, ...extra } });
  const sig = signature(signingKey, stringToSign(req.signedAt, creds.region, text));
  return {
    ...extra,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${credentialScope(req.signedAt, creds.region)}, SignedHeaders=${signedHeaders}, Signature=${sig}`,
  };
}

/**
 * A query-presigned URL for `method` on `url` (path encoded; extra query parameters such as
 * `response-content-disposition` may already be on it and are signed too), valid from `signedAt`
 * for `expiresInSeconds`. Throws RangeError outside 1..604800 s, the limit SigV4 sets.
 */
export function presignUrl(
  creds: SigV4Credentials,
  signingKey: Buffer,
  input: { method: string; url: URL; signedAt: Date; expiresInSeconds: number },
): string {
  const { expiresInSeconds } = input;
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_SIGV4_EXPIRES_SECONDS)
    throw new RangeError(
      `a SigV4 presigned URL lives 1..${MAX_SIGV4_EXPIRES_SECONDS} whole seconds, not ${expiresInSeconds}`,
    );
  const url = new URL(input.url);
  url.searchParams.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256');
  url.searchParams.set('X-Amz-Credential', `${creds.accessKeyId}/${credentialScope(input.signedAt, creds.region)}`);
  url.searchParams.set('X-Amz-Date', amzTimestamp(input.signedAt));
  url.searchParams.set('X-Amz-Expires', String(expiresInSeconds));
  url.searchParams.set('X-Amz-SignedHeaders', 'host');
  const { text } = canonicalRequest({
    method: input.method,
    url,
    headers: {},
    payloadHash: UNSIGNED_PAYLOAD,
    signedAt: input.signedAt,
  });
  const sig = signature(signingKey, stringToSign(input.signedAt, creds.region, text));
  // The query as signed (RFC 3986 encoded, the same bytes S3 decodes), then the signature last.
  return `${url.origin}${url.pathname}?${canonicalQuery(url.searchParams)}&X-Amz-Signature=${sig}`;
}

/**
 * The same presigned URL as `presignUrl` for a plain object URL (no query of its own), built as
 * strings: no URL parsing or parameter sorting per call, since the five X-Amz-* names are already
 * in canonical order. References sign hundreds of these per read.
 */
export function presignObjectUrl(
  creds: SigV4Credentials,
  signingKey: Buffer,
  input: { method: string; origin: string; host: string; path: string; signedAt: Date; expiresInSeconds: number },
): string {
  const { expiresInSeconds } = input;
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_SIGV4_EXPIRES_SECONDS)
    throw new RangeError(
      `a SigV4 presigned URL lives 1..${MAX_SIGV4_EXPIRES_SECONDS} whole seconds, not ${expiresInSeconds}`,
    );
  const scope = credentialScope(input.signedAt, creds.region);
  const timestamp = amzTimestamp(input.signedAt);
  const query =
    `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEncode(`${creds.accessKeyId}/${scope}`)}` +
    `&X-Amz-Date=${timestamp}&X-Amz-Expires=${expiresInSeconds}&X-Amz-SignedHeaders=host`;
  const canonical = `${input.method}\n${input.path}\n${query}\nhost:${input.host}\n\nhost\n${UNSIGNED_PAYLOAD}`;
  const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
  const sig = signature(signingKey, `AWS4-HMAC-SHA256\n${timestamp}\n${scope}\n${hash}`);
  return `${input.origin}${input.path}?${query}&X-Amz-Signature=${sig}`;
}
