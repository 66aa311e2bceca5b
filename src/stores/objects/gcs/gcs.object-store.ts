/**
 * Objects in a Google Cloud Storage bucket through @google-cloud/storage 7. Clients upload to real
 * resumable session URIs and download through V4 signed URLs; kinbase never proxies the bytes.
 * Also runs against fake-gcs-server via `apiEndpoint` (see the notes on what it does not enforce).
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import {
  StoreError,
  type ByteRange,
  type ObjectStat,
  type ObjectStore,
  type SignOptions,
  type UploadSessionOptions,
  type UploadTarget,
} from '../../../domain/ports';
import { EventLoopTurns } from '../../../internal/event-loop-turns';
import {
  buildCanonicalRequest,
  buildStringToSign,
  deriveHmacSigningKey,
  signedUrl,
  signWithHmacKey,
  v4Datestamp,
  type V4Algorithm,
  type V4UrlInput,
} from './v4-signer';
import { assertSafeObjectKey } from '../object-key';
import { RsaSignerPool } from './rsa-signer-pool';
import { systemClock, type Clock } from '../../../internal/clock';

export interface GcsObjectStoreOptions {
  bucket: string;
  /** Service-account JSON; without it Application Default Credentials are used. */
  keyFile?: string;
  /** e.g. fake-gcs-server's `http://127.0.0.1:4443`; signed and public URLs then point there too. */
  apiEndpoint?: string;
  /** HMAC key: download URLs are then signed with GOOG4-HMAC-SHA256 (cheap, on the event loop). */
  hmac?: { accessId: string; secret: string };
  /** The signing time of download URLs is never later than this clock's now; the wall clock by default. */
  clock?: Clock;
  /**
   * Longest wait for one HTTP request to the bucket (default 8 s); a failed request is retried
   * once at most, so an unreachable bucket answers within about twice this, not the library's
   * default of minutes of retries.
   */
  timeoutMs?: number;
}

/** How download URLs get signed: HMAC key, the service account's RSA key in workers, or the library. */
type DownloadSigner =
  | { kind: 'hmac'; accessId: string; secret: string }
  | { kind: 'rsa'; clientEmail: string; pool: RsaSignerPool }
  | { kind: 'library' };

/**
 * The RSA signer for a service-account key file; null when the file holds no such key (e.g. an
 * authorized-user file), so the library's own signing (IAM signBlob, ADC) takes over.
 */
async function rsaSignerFromKeyFile(keyFile: string | undefined): Promise<DownloadSigner | null> {
  if (!keyFile) return null;
  const key = JSON.parse(await readFile(keyFile, 'utf8')) as { client_email?: unknown; private_key?: unknown };
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') return null;
  return { kind: 'rsa', clientEmail: key.client_email, pool: new RsaSignerPool({ privateKeyPem: key.private_key }) };
}

// Custom metadata mirroring the public flag: GCS returns ACLs only with projection=full, the
// emulator never returns them on object reads, and buckets with uniform access have none.
const PUBLIC_FLAG = 'kinbase-public';

function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Driver errors become StoreError at this boundary (network trouble = 'unavailable'). */
function translate(err: unknown): never {
  const status = httpStatus(err);
  if (status === undefined || status >= 500 || status === 429) {
    throw new StoreError('unavailable', `GCS request failed: ${(err as Error).message}`, { cause: err });
  }
  throw err;
}

/** V4 signed URLs live at most 7 days from their signing time. */
const MAX_V4_LIFETIME_SECONDS = 604_800;

export class GcsObjectStore implements ObjectStore {
  readonly kind = 'gcs' as const;
  private readonly endpoint: string;
  // At ~20-40 µs of main-thread work per URL, 64 per turn keeps any one turn near a couple of ms.
  private readonly turns = new EventLoopTurns(64);
  /** The HMAC signing key changes once a day; deriving it costs four HMACs, so keep today's. */
  private hmacKey: { datestamp: string; key: Buffer } | undefined;

  private constructor(
    private readonly bucket: Bucket,
    apiEndpoint: string | undefined,
    private readonly signer: DownloadSigner,
    private readonly clock: Clock,
  ) {
    this.endpoint = (apiEndpoint ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
  }

  /**
   * Builds the store; makes no request (a missing bucket surfaces on first use). Reads the key file
   * for its RSA key; throws if it is unreadable, not JSON, or holds an invalid private key.
   */
  static async create(options: GcsObjectStoreOptions): Promise<GcsObjectStore> {
    const storage = new Storage({
      timeout: options.timeoutMs ?? 8000,
      retryOptions: {
        maxRetries: 1,
        maxRetryDelay: 1,
        totalTimeout: Math.ceil((2 * (options.timeoutMs ?? 8000)) / 1000),
      },
      ...(options.keyFile ? { keyFilename: options.keyFile } : {}),
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    });
    const signer: DownloadSigner = options.hmac
      ? { kind: 'hmac', ...options.hmac }
      : ((await rsaSignerFromKeyFile(options.keyFile)) ?? { kind: 'library' });
    return new GcsObjectStore(
      storage.bucket(options.bucket),
      options.apiEndpoint,
      signer,
      options.clock ?? systemClock,
    );
  }

  private file(key: string): File {
    assertSafeObjectKey(key);
    return this.bucket.file(key);
  }

  async createUploadSession(key: string, options: UploadSessionOptions): Promise<UploadTarget> {
    const file = this.file(key);
    try {
      // Always private: the Files API makes the object public when its record takes these bytes,
      // so a session opened while the file was public cannot publish bytes after it went private.
      const [url] = await file.createResumableUpload({
        ...(options.origin ? { origin: options.origin } : {}),
        metadata: {
          contentType: options.contentType,
          metadata: { [PUBLIC_FLAG]: 'false', filename: options.filename },
        },
      });
      // GCS itself enforces neither the declared size nor the first-use or absolute deadlines on
      // session URIs (they live a week): the Files API checks the stored size when the upload is
      // confirmed, and a late upload lands on a generation key its record no longer serves.
      // Nor does it check any header of the requests to the session URI: the content type and
      // metadata were fixed above, when the session opened.
      return { url, requiredHeaders: {} };
    } catch (err) {
      return translate(err);
    }
  }

  async write(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat> {
    const file = this.file(key);
    const isPublic = options.public ?? false;
    try {
      // Simple (non-resumable) upload: GCS commits the object only when the stream ends cleanly.
      await pipeline(
        body,
        file.createWriteStream({
          resumable: false,
          validation: 'md5',
          metadata: {
            contentType: options.contentType,
            metadata: {
              [PUBLIC_FLAG]: String(isPublic),
              ...(options.filename !== undefined ? { filename: options.filename } : {}),
            },
          },
          ...(isPublic ? { predefinedAcl: 'publicRead' as const } : {}),
        }),
      );
    } catch (err) {
      return translate(err);
    }
    const stat = await this.stat(key);
    if (!stat) throw new StoreError('unavailable', `object ${key} vanished right after it was written`);
    return stat;
  }

  async read(key: string, range?: ByteRange): Promise<Readable | null> {
    const file = this.file(key);
    // Stat first: createReadStream reports a missing object only as a stream error, too late for null.
    const stat = await this.stat(key);
    if (!stat) return null;
    if (stat.size === 0) return file.createReadStream();
    return file.createReadStream(range ? { start: range.start, end: range.end, validation: false } : {});
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const file = this.file(key);
    try {
      const [meta] = await file.getMetadata();
      return {
        size: Number(meta.size ?? 0),
        contentType: meta.contentType ?? 'application/octet-stream',
        md5: meta.md5Hash ? Buffer.from(meta.md5Hash, 'base64').toString('hex') : '',
        public: meta.metadata?.[PUBLIC_FLAG] === 'true',
        updatedAt: new Date(meta.updated ?? meta.timeCreated ?? this.clock().getTime()),
      };
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      return translate(err);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await file.delete({ ignoreNotFound: true });
    } catch (err) {
      translate(err);
    }
  }

  /** Deletes every object under `prefix + '/'` (one listing of that prefix, then one delete each). */
  async deletePrefix(prefix: string): Promise<void> {
    assertSafeObjectKey(prefix);
    try {
      await this.bucket.deleteFiles({ prefix: `${prefix}/` });
    } catch (err) {
      if (httpStatus(err) === 404) return;
      translate(err);
    }
  }

  /**
   * Cancels a resumable session with DELETE on its URI (GCS answers 499). Best effort: a session
   * that cannot be cancelled still writes only a generation its record no longer serves.
   */
  async cancelUpload(uploadUrl: string): Promise<void> {
    // Only session URIs of this endpoint: never send a request to a URL from elsewhere.
    if (!uploadUrl.startsWith(`${this.endpoint}/upload/`)) return;
    try {
      const res = await fetch(uploadUrl, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch {
      // Unreachable storage: the session expires on its own.
    }
  }

  /**
   * Flips the object's ACL (`allUsers: READER`) and the mirrored flag. fake-gcs-server stores ACLs
   * but serves every object to anyone, so "private again" is only observable on real GCS.
   */
  async setPublic(key: string, isPublic: boolean): Promise<void> {
    const file = this.file(key);
    try {
      if (isPublic) await file.makePublic();
      else
        await file.acl.delete({ entity: 'allUsers' }).catch((err: unknown) => {
          if (httpStatus(err) !== 404) throw err;
        });
      await file.setMetadata({ metadata: { [PUBLIC_FLAG]: String(isPublic) } });
    } catch (err) {
      if (httpStatus(err) === 404) return;
      translate(err);
    }
  }

  /**
   * A path-style V4 URL on the configured endpoint (`https://storage.googleapis.com` by default),
   * signed at the current second. Throws RangeError when `expiresAt` is not 1 s .. 7 days ahead.
   */
  async signDownloadUrl(key: string, options: SignOptions): Promise<string> {
    let url: string;
    if (this.signer.kind === 'library') {
      [url] = await this.file(key).getSignedUrl({ version: 'v4', action: 'read', expires: options.expiresAt });
    } else {
      assertSafeObjectKey(key);
      url = await this.signV4(key, options.expiresAt);
    }
    return options.https ? url : url.replace(/^https:/, 'http:');
  }

  private async signV4(key: string, expiresAt: Date): Promise<string> {
    const signer = this.signer as Exclude<DownloadSigner, { kind: 'library' }>;
    await this.turns.next();
    // The signing time is derived from the expiry alone (the longest lifetime V4 allows before it),
    // so the same object and quantised expiry always give the byte-identical URL: across cache
    // evictions, restarts and every instance behind a load balancer, which browsers and CDNs can
    // cache. It is never later than now, since expiries are at most 7 days ahead.
    const expiresSeconds = Math.floor(expiresAt.getTime() / 1000);
    const nowSeconds = Math.min(Math.floor(this.clock().getTime() / 1000), expiresSeconds - 1);
    const signedAtSeconds = Math.min(expiresSeconds - MAX_V4_LIFETIME_SECONDS, nowSeconds);
    const algorithm: V4Algorithm = signer.kind === 'hmac' ? 'GOOG4-HMAC-SHA256' : 'GOOG4-RSA-SHA256';
    const input: V4UrlInput = {
      algorithm,
      method: 'GET',
      endpoint: this.endpoint,
      bucket: this.bucket.name,
      objectName: key,
      accessId: signer.kind === 'hmac' ? signer.accessId : signer.clientEmail,
      signedAt: new Date(signedAtSeconds * 1000),
      expiresInSeconds: expiresSeconds - signedAtSeconds,
    };
    const stringToSign = buildStringToSign(input, buildCanonicalRequest(input));
    const signature =
      signer.kind === 'hmac'
        ? signWithHmacKey(this.hmacSigningKey(signer.secret, input.signedAt), stringToSign)
        : await signer.pool.sign(stringToSign);
    return signedUrl(input, signature);
  }

  private hmacSigningKey(secret: string, signedAt: Date): Buffer {
    const datestamp = v4Datestamp(signedAt);
    if (this.hmacKey?.datestamp !== datestamp)
      this.hmacKey = { datestamp, key: deriveHmacSigningKey(secret, signedAt) };
    return this.hmacKey.key;
  }

  publicUrl(key: string, options: { https: boolean }): string {
    assertSafeObjectKey(key);
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    const base = options.https ? this.endpoint.replace(/^http:/, 'https:') : this.endpoint.replace(/^https:/, 'http:');
    return `${base}/${encodeURIComponent(this.bucket.name)}/${encoded}`;
  }

  async close(): Promise<void> {
    if (this.signer.kind === 'rsa') await this.signer.pool.close();
  }
}
