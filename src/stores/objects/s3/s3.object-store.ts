/**
 * Objects in an S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Ceph RGW,
 * versitygw), through our own small client (s3-client.ts, sigv4.ts).
 *
 * Layout in the bucket: `<key>` holds the bytes (stored with Content-Type and Content-Disposition),
 * `<key>.meta.json` the stat (size, md5, content type, public flag, updatedAt); the object exists
 * once that sidecar does, as on the local disk. Keys never contain '.', so neither sidecars nor
 * `public.kinbase/` can collide with an object. A public object is also copied to
 * `public.kinbase/<key>`, the only prefix a bucket policy or CDN needs to expose (per-object ACLs
 * are missing on R2 and disabled on new AWS buckets); making it private deletes the copy.
 *
 * Uploads: the SDKs need GCS's resumable protocol (a `bytes *\/N` probe must answer 308), which a
 * presigned S3 PUT does not speak, so upload URLs point at kinbase (the same routes and protocol
 * code as the local store, http/routes/storage) and the bytes stream on into the bucket
 * (s3-upload-sessions.ts). Downloads are SigV4 presigned GETs straight to the bucket.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  StoreError,
  type ByteRange,
  type ObjectStat,
  type ObjectStore,
  type SignOptions,
  type UploadSessionOptions,
  type UploadTarget,
} from '../../../domain/ports';
import { mapWithLimit, STORAGE_CONCURRENCY } from '../../../internal/bounded-concurrency';
import { systemClock, type Clock } from '../../../internal/clock';
import { EventLoopTurns } from '../../../internal/event-loop-turns';
import { Md5Workers } from '../local-disk/md5-workers';
import { parseExpires, signUrl, verifyUrlSignature } from '../local-disk/url-signer';
import { assertSafeObjectKey } from '../object-key';
import { StoreStartError } from '../../store-start-error';
import { contentDisposition } from './content-disposition';
import { MultipartWriter, partSizeFor, pumpParts } from './multipart';
import { readText, S3Client, S3Error, xmlBlocks, xmlValue } from './s3-client';
import { S3UploadSessions, type S3UploadRecord, type S3UploadState } from './s3-upload-sessions';
import { encodeKeyPath, MAX_SIGV4_EXPIRES_SECONDS } from './sigv4';

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Base URL under which the bucket's objects are publicly readable (bucket policy, website, CDN). */
  publicBaseUrl?: string;
  /** kinbase's public URL: upload URLs point at its /storage/upload routes. */
  kinbaseUrl: string;
  /** HMAC key of kinbase's own upload URLs. */
  signingSecret: string;
  /** Where upload session records and the bytes after the last full part wait. */
  sessionsDir: string;
  /** Smallest multipart part (default 8 MiB, never below S3's 5 MiB). */
  partSizeBytes?: number;
  clock?: Clock;
}

/** The public copies live under this prefix; '.' keeps it apart from every app key. */
export const PUBLIC_PREFIX = 'public.kinbase';
const DAY_MS = 86_400_000;

interface Sidecar {
  size: number;
  contentType: string;
  md5: string;
  public: boolean;
  filename?: string;
  updatedAt: string;
}

type UploadAuthorization =
  { ok: true; session: S3UploadState } | { ok: false; reason: 'not-found' | 'invalid' | 'expired' | 'closed' };

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly sessions: S3UploadSessions;
  private readonly md5 = new Md5Workers();
  private readonly clock: Clock;
  private readonly origin: string;
  private readonly secret: string;
  private readonly publicBase: string | undefined;
  private readonly partSize: number;
  private readonly turns = new EventLoopTurns(64);

  constructor(options: S3ObjectStoreOptions) {
    if (!options.signingSecret) throw new Error('S3ObjectStore needs a signing secret');
    this.clock = options.clock ?? systemClock;
    this.client = new S3Client({ ...options, clock: this.clock });
    this.origin = options.kinbaseUrl.replace(/\/+$/, '');
    this.secret = options.signingSecret;
    this.publicBase = options.publicBaseUrl?.replace(/\/+$/, '');
    this.partSize = partSizeFor(undefined, options.partSizeBytes);
    this.sessions = new S3UploadSessions(path.resolve(options.sessionsDir), this.client, this.md5, (s) =>
      this.objectHeaders(s.contentType, s.filename),
    );
  }

  /**
   * Opens the store and checks the bucket with one HeadBucket. Throws StoreStartError naming the
   * bucket and endpoint when it does not exist or refuses the credentials (or S3 is unreachable).
   */
  static async open(options: S3ObjectStoreOptions): Promise<S3ObjectStore> {
    const store = new S3ObjectStore(options);
    const where = `S3 bucket "${options.bucket}" at ${store.client.endpointForMessages}`;
    try {
      await store.client.call({ method: 'HEAD' });
    } catch (err) {
      await store.close();
      const status = err instanceof S3Error ? err.status : undefined;
      if (status === 404) throw new StoreStartError(`${where} does not exist`);
      if (status === 403 || status === 401 || status === 400)
        throw new StoreStartError(`${where} refuses the credentials of S3_ACCESS_KEY_ID ${options.accessKeyId}`);
      throw new StoreStartError(`${where} cannot be reached: ${(err as Error).message}`);
    }
    return store;
  }

  private objectHeaders(contentType: string, filename: string | undefined): Record<string, string> {
    return { 'content-type': contentType, 'content-disposition': contentDisposition(contentType, filename) };
  }

  async createUploadSession(key: string, options: UploadSessionOptions): Promise<UploadTarget> {
    assertSafeObjectKey(key);
    const session = await this.sessions.create(key, options, partSizeFor(options.size, this.partSize));
    const expires = Math.floor(session.firstUseDeadline / 1000);
    const signature = signUrl(this.secret, { target: session.id, action: 'upload', expires });
    const url = `${this.origin}/storage/upload/${session.id}?expires=${expires}&signature=${signature}`;
    return { url, requiredHeaders: { 'Content-Type': options.contentType } };
  }

  async write(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat> {
    assertSafeObjectKey(key);
    const writer = new MultipartWriter(this.client, key, this.objectHeaders(options.contentType, options.filename), {
      parts: [],
    });
    const hash = this.md5.start();
    let size = 0;
    try {
      const buffered = { chunks: [] as Buffer[] };
      await pumpParts(body, writer, this.partSize, buffered, (chunk) => {
        size += chunk.length;
        hash.update(chunk);
        return hash.drained() ?? undefined;
      });
      await writer.finish(buffered.chunks);
    } catch (err) {
      hash.abandon();
      await writer.abort();
      throw err;
    }
    const md5 = await hash.digest().catch(() => this.hashStored(key));
    const sidecar: Sidecar = {
      size,
      contentType: options.contentType,
      md5,
      public: false,
      ...(options.filename !== undefined ? { filename: options.filename } : {}),
      updatedAt: this.clock().toISOString(),
    };
    await this.writeSidecar(key, sidecar);
    if (options.public) await this.setPublic(key, true);
    return toStat({ ...sidecar, public: options.public ?? false });
  }

  /** The MD5 of a stored object, read back (when it could not be computed as the bytes went by). */
  private async hashStored(key: string): Promise<string> {
    const hash = createHash('md5');
    const res = await this.client.send({ method: 'GET', key });
    for await (const chunk of res) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  private async writeSidecar(key: string, sidecar: Sidecar): Promise<void> {
    await this.client.call({
      method: 'PUT',
      key: `${key}.meta.json`,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(sidecar)),
    });
  }

  private async readSidecar(key: string): Promise<Sidecar | null> {
    const { status, text } = await this.client.call({ method: 'GET', key: `${key}.meta.json`, accept: [404] });
    if (status === 404) return null;
    return JSON.parse(text) as Sidecar;
  }

  async read(key: string, range?: ByteRange): Promise<Readable | null> {
    assertSafeObjectKey(key);
    const sidecar = await this.readSidecar(key);
    if (!sidecar) return null;
    const res = await this.client.send({
      method: 'GET',
      key,
      accept: [404],
      ...(range && sidecar.size > 0 ? { headers: { range: `bytes=${range.start}-${range.end}` } } : {}),
    });
    if (res.statusCode === 404) {
      res.resume();
      return null;
    }
    return res;
  }

  async stat(key: string): Promise<(ObjectStat & { filename?: string }) | null> {
    assertSafeObjectKey(key);
    const sidecar = await this.readSidecar(key);
    if (!sidecar) return null;
    return { ...toStat(sidecar), ...(sidecar.filename !== undefined ? { filename: sidecar.filename } : {}) };
  }

  async delete(key: string): Promise<void> {
    assertSafeObjectKey(key);
    // Sidecar first: from then on the object is gone for every reader.
    await this.deleteObject(`${key}.meta.json`);
    await Promise.all([this.deleteObject(key), this.deleteObject(`${PUBLIC_PREFIX}/${key}`)]);
    await this.sessions.deleteForKey(key);
  }

  private async deleteObject(key: string): Promise<void> {
    await this.client.call({ method: 'DELETE', key, accept: [404] });
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeObjectKey(prefix);
    // Sessions first: none of them can complete an object under the prefix once it is removed.
    await this.sessions.deleteForKey(prefix, { prefix: true });
    for (const base of [`${prefix}/`, `${PUBLIC_PREFIX}/${prefix}/`]) {
      const keys = await this.list(base);
      // Sidecars first, so no half-deleted object is ever reported as existing.
      const sidecars = keys.filter((k) => k.endsWith('.meta.json'));
      await mapWithLimit(sidecars, STORAGE_CONCURRENCY, (k) => this.deleteObject(k));
      const rest = keys.filter((k) => !k.endsWith('.meta.json'));
      await mapWithLimit(rest, STORAGE_CONCURRENCY, (k) => this.deleteObject(k));
    }
  }

  /** Every key under `prefix` (ListObjectsV2, page by page). */
  private async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const { text } = await this.client.call({
        method: 'GET',
        query: { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) },
      });
      for (const block of xmlBlocks(text, 'Contents')) {
        const key = xmlValue(block, 'Key');
        if (key) keys.push(key);
      }
      token = xmlValue(text, 'IsTruncated') === 'true' ? xmlValue(text, 'NextContinuationToken') : undefined;
    } while (token);
    return keys;
  }

  /**
   * Public: copies the object to `public.kinbase/<key>` (server side) and records the flag.
   * Private: records the flag, then deletes the copy, so its URL stops serving at once.
   */
  async setPublic(key: string, isPublic: boolean): Promise<void> {
    assertSafeObjectKey(key);
    const sidecar = await this.readSidecar(key);
    if (!sidecar) return;
    if (isPublic) {
      await this.copy(key, `${PUBLIC_PREFIX}/${key}`);
      if (!sidecar.public) await this.writeSidecar(key, { ...sidecar, public: true });
    } else {
      if (sidecar.public) await this.writeSidecar(key, { ...sidecar, public: false });
      await this.deleteObject(`${PUBLIC_PREFIX}/${key}`);
    }
  }

  private async copy(from: string, to: string): Promise<void> {
    const res = await this.client.send({
      method: 'PUT',
      key: to,
      headers: { 'x-amz-copy-source': `/${encodeURIComponent(this.client.bucket)}/${encodeKeyPath(from)}` },
    });
    // CopyObject may answer 200 with an error in the body.
    const text = await readText(res);
    if (/<Error>/.test(text)) throw new StoreError('unavailable', `copying ${from} failed: ${xmlValue(text, 'Code')}`);
  }

  /**
   * A SigV4 presigned GET straight to the bucket, valid until `expiresAt` (at most 7 days, SigV4's
   * limit; the Files API caps TTLs there). The signing time is derived from the expiry, so the same
   * object and quantised expiry always give the byte-identical URL (cacheable, the same on every
   * instance); it is never later than now.
   */
  async signDownloadUrl(key: string, options: SignOptions): Promise<string> {
    assertSafeObjectKey(key);
    await this.turns.next();
    const expiresSeconds = Math.floor(options.expiresAt.getTime() / 1000);
    const nowSeconds = Math.min(Math.floor(this.clock().getTime() / 1000), expiresSeconds - 1);
    const signedAt = Math.min(expiresSeconds - MAX_SIGV4_EXPIRES_SECONDS, nowSeconds);
    const url = this.client.presignGet(key, new Date(signedAt * 1000), expiresSeconds - signedAt);
    return withScheme(url, options.https);
  }

  /**
   * Under S3_PUBLIC_URL: `<base>/public.kinbase/<key>`, permanent. Without it: a presigned GET of
   * the public copy signed at the start of the current UTC day for 7 days, so the URL is identical
   * all day and valid at least 6 more days; deleting the copy (private again) ends it at once.
   */
  publicUrl(key: string, options: { https: boolean }): string {
    assertSafeObjectKey(key);
    const publicKey = `${PUBLIC_PREFIX}/${key}`;
    if (this.publicBase) return withScheme(`${this.publicBase}/${encodeKeyPath(publicKey)}`, options.https);
    const day = new Date(Math.floor(this.clock().getTime() / DAY_MS) * DAY_MS);
    return withScheme(this.client.presignGet(publicKey, day, MAX_SIGV4_EXPIRES_SECONDS), options.https);
  }

  private sessionIdOf(uploadUrl: string): string | null {
    if (!uploadUrl.startsWith(`${this.origin}/storage/upload/`)) return null;
    return new URL(uploadUrl).pathname.split('/').pop() ?? null;
  }

  async uploadProgress(uploadUrl: string): Promise<number | null> {
    const id = this.sessionIdOf(uploadUrl);
    const session = id ? await this.sessions.get(id) : null;
    return session ? session.received : null;
  }

  async cancelUpload(uploadUrl: string): Promise<void> {
    const id = this.sessionIdOf(uploadUrl);
    if (id) await this.sessions.remove(id);
  }

  /** Removes sessions past their absolute deadline and aborts their multipart uploads. */
  sweepUploadSessions(now: Date): Promise<number> {
    return this.sessions.sweep(now);
  }

  async close(): Promise<void> {
    await this.md5.close();
    this.client.close();
  }

  // ---- What the upload routes (http/routes/storage) need beyond the port ----

  /** Checks an upload URL as the local store does: first-use deadline, absolute deadline, signature. */
  async authorizeUpload(id: string, expires: unknown, signature: unknown): Promise<UploadAuthorization> {
    const now = this.clock();
    const session = await this.sessions.get(id);
    if (!session) return { ok: false, reason: 'not-found' };
    const check = verifyUrlSignature(
      this.secret,
      { target: id, action: 'upload', expires: parseExpires(expires) },
      signature,
      now,
    );
    if (check === 'invalid') return { ok: false, reason: 'invalid' };
    if (now.getTime() > session.closesAt) return { ok: false, reason: 'closed' };
    if (check === 'expired' && !session.used) return { ok: false, reason: 'expired' };
    if (!session.used) await this.sessions.markUsed(id);
    return { ok: true, session: { ...session, used: true } };
  }

  appendToSession(id: string, offset: number, body: Readable, maxBytes: number): Promise<S3UploadState> {
    return this.sessions.append(id, offset, body, maxBytes);
  }

  receiveWholeBody(id: string, body: Readable, maxBytes: number): Promise<S3UploadState> {
    return this.sessions.replaceWhole(id, body, maxBytes);
  }

  /** Makes the object of the session's key from the received bytes, private (the Files API decides). */
  completeSession(id: string): Promise<S3UploadState> {
    return this.sessions.complete(id, async (session, writer, tail, md5) => {
      try {
        await writer.finish(tail);
      } catch (err) {
        if (err instanceof S3Error) throw new StoreError('invalid', `S3 refused the upload: ${err.code}`);
        throw err;
      }
      await this.writeSidecar(session.key, this.sidecarOf(session, md5 ?? (await this.hashStored(session.key))));
    });
  }

  private sidecarOf(session: S3UploadRecord & { received: number }, md5: string): Sidecar {
    return {
      size: session.received,
      contentType: session.contentType,
      md5,
      public: false,
      filename: session.filename,
      updatedAt: this.clock().toISOString(),
    };
  }
}

/** A URL on https downgraded on `tls=false`; an http one is never turned into an https URL nobody serves. */
function withScheme(url: string, https: boolean): string {
  return https ? url : url.replace(/^https:/, 'http:');
}

function toStat(sidecar: Sidecar): ObjectStat {
  return {
    size: sidecar.size,
    contentType: sidecar.contentType,
    md5: sidecar.md5,
    public: sidecar.public,
    updatedAt: new Date(sidecar.updatedAt),
  };
}
