/**
 * Objects on the local disk: `<dir>/<key>` holds the bytes, `<dir>/<key>.meta.json` a small sidecar
 * (content type, md5, size, public flag, filename, updatedAt). Keys never contain '.', so neither
 * sidecars, temp files nor `<dir>/.uploads/` can collide with an object. kinbase itself serves the
 * signed URLs (see src/http/routes/storage/storage.routes.ts).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, open as openCallback } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  StoreError,
  type ByteRange,
  type ObjectStat,
  type ObjectStore,
  type SignOptions,
  type UploadSessionOptions,
  type UploadTarget,
} from '../../../domain/ports';
import { assertSafeObjectKey, isSafeObjectKey } from '../object-key';
import { UploadSessions, type UploadSessionState } from './upload-sessions';
import { Md5Workers, md5OfFile } from './md5-workers';
import { parseExpires, signUrl, verifyUrlSignature, type SignatureCheck } from './url-signer';
import { systemClock, type Clock } from '../../../internal/clock';

const openFd = promisify(openCallback);

export type { UploadSessionState } from './upload-sessions';

/** The sidecar of one object, plus the filename used for Content-Disposition. */
export interface LocalObjectStat extends ObjectStat {
  filename?: string;
}

interface Sidecar {
  contentType: string;
  md5: string;
  size: number;
  public: boolean;
  filename?: string;
  updatedAt: string;
}

/** The outcome of checking an upload URL. */
export type UploadAuthorization =
  { ok: true; session: UploadSessionState } | { ok: false; reason: 'not-found' | 'invalid' | 'expired' | 'closed' };

/**
 * Running out of file handles (per process or system-wide) is a momentary shortage, not a bug:
 * it becomes StoreError('unavailable'), which the Files API answers with 503 for that request only.
 */
export function translateFsError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EMFILE' || code === 'ENFILE')
    return new StoreError('unavailable', `out of file handles (${code})`, { cause: err });
  return err;
}

function guarded<T>(work: Promise<T>): Promise<T> {
  return work.catch((err: unknown) => {
    throw translateFsError(err);
  });
}

export class LocalDiskObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  private readonly dir: string;
  private readonly origin: string;
  private readonly secret: string;
  private readonly sessions: UploadSessions;
  private readonly md5 = new Md5Workers();
  private readonly clock: Clock;

  /** `clock` decides when a signed URL has expired and stamps `updatedAt`; the wall clock by default. */
  constructor(options: { dir: string; publicUrl: string; signingSecret: string; clock?: Clock }) {
    if (!options.signingSecret) throw new Error('LocalDiskObjectStore needs a signing secret');
    this.clock = options.clock ?? systemClock;
    this.dir = path.resolve(options.dir);
    this.origin = options.publicUrl.replace(/\/+$/, '');
    this.secret = options.signingSecret;
    this.sessions = new UploadSessions(path.join(this.dir, '.uploads'), this.md5);
  }

  private dataPath(key: string): string {
    assertSafeObjectKey(key);
    return path.join(this.dir, ...key.split('/'));
  }

  /**
   * kinbase serves these URLs itself, so it can only hand out the scheme it is reached by: an
   * https public URL (behind a TLS terminator) may be downgraded on `tls=false`, but an http one is
   * never turned into an https URL nobody serves. The SDKs send `tls=true` on every file read.
   */
  private withScheme(https: boolean): string {
    if (https || !this.origin.startsWith('https:')) return this.origin;
    return this.origin.replace(/^https:/, 'http:');
  }

  async createUploadSession(key: string, options: UploadSessionOptions): Promise<UploadTarget> {
    assertSafeObjectKey(key);
    const session = await guarded(this.sessions.create(key, options));
    const expires = Math.floor(session.firstUseDeadline / 1000);
    const signature = signUrl(this.secret, { target: session.id, action: 'upload', expires });
    // storage.routes.ts refuses (415) a request whose Content-Type differs from the session's: HTTP
    // clients that are not told send one of their own (curl: form-urlencoded, fetch: text/plain).
    const url = `${this.origin}/storage/upload/${session.id}?expires=${expires}&signature=${signature}`;
    return { url, requiredHeaders: { 'Content-Type': options.contentType } };
  }

  write(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat> {
    return guarded(this.writeObject(key, body, options));
  }

  private async writeObject(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat> {
    const target = this.dataPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Same directory as the target, so the final rename is atomic on every filesystem.
    const tmp = `${target}.${randomBytes(8).toString('hex')}.tmp`;
    const hash = this.md5.start();
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            await hash.drained();
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const md5 = await hash.digest().catch(() => md5OfFile(tmp));
      return await this.commit(key, tmp, {
        contentType: options.contentType,
        md5,
        size,
        public: options.public ?? false,
        ...(options.filename !== undefined ? { filename: options.filename } : {}),
      });
    } finally {
      hash.abandon();
      await rm(tmp, { force: true });
    }
  }

  /** Moves a finished file into place, then its sidecar; the object exists once the sidecar does. */
  private async commit(key: string, file: string, meta: Omit<Sidecar, 'updatedAt'>): Promise<ObjectStat> {
    const target = this.dataPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
    const sidecar: Sidecar = { ...meta, updatedAt: this.clock().toISOString() };
    await this.writeSidecar(key, sidecar);
    return toStat(sidecar);
  }

  private async writeSidecar(key: string, sidecar: Sidecar): Promise<void> {
    const file = `${this.dataPath(key)}.meta.json`;
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(sidecar));
    await rename(tmp, file);
  }

  private async readSidecar(key: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(`${this.dataPath(key)}.meta.json`, 'utf8')) as Sidecar;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
        return null;
      throw err;
    }
  }

  read(key: string, range?: ByteRange): Promise<Readable | null> {
    return guarded(this.openObject(key, range));
  }

  private async openObject(key: string, range?: ByteRange): Promise<Readable | null> {
    if (!(await this.readSidecar(key))) return null;
    try {
      // Opening first pins this version of the file: a concurrent overwrite renames a new inode
      // into place and the open handle keeps streaming the old, complete content.
      const fd = await openFd(this.dataPath(key), 'r');
      // A plain fd stream (classic fs.read on the thread pool, 256 KiB chunks) rather than
      // FileHandle.createReadStream, whose promise-per-read costs about a third of the throughput.
      return createReadStream('', {
        fd,
        autoClose: true,
        highWaterMark: 256 * 1024,
        ...(range ? { start: range.start, end: range.end } : {}),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async stat(key: string): Promise<LocalObjectStat | null> {
    const sidecar = await guarded(this.readSidecar(key));
    return sidecar
      ? { ...toStat(sidecar), ...(sidecar.filename !== undefined ? { filename: sidecar.filename } : {}) }
      : null;
  }

  async delete(key: string): Promise<void> {
    const target = this.dataPath(key);
    await guarded(
      (async () => {
        await rm(`${target}.meta.json`, { force: true });
        await rm(target, { force: true });
        await this.sessions.deleteForKey(key);
      })(),
    );
  }

  async deletePrefix(prefix: string): Promise<void> {
    const target = this.dataPath(prefix);
    await guarded(
      (async () => {
        // Sessions first: none of them can commit an object into the tree once it is removed.
        await this.sessions.deleteForKey(prefix, { prefix: true });
        await rm(target, { recursive: true, force: true });
      })(),
    );
  }

  async setPublic(key: string, isPublic: boolean): Promise<void> {
    const sidecar = await guarded(this.readSidecar(key));
    if (sidecar && sidecar.public !== isPublic) await guarded(this.writeSidecar(key, { ...sidecar, public: isPublic }));
  }

  async signDownloadUrl(key: string, options: SignOptions): Promise<string> {
    assertSafeObjectKey(key);
    const expires = Math.floor(options.expiresAt.getTime() / 1000);
    const signature = signUrl(this.secret, { target: key, action: 'download', expires });
    return `${this.withScheme(options.https)}/storage/download/${key}?expires=${expires}&signature=${signature}`;
  }

  publicUrl(key: string, options: { https: boolean }): string {
    assertSafeObjectKey(key);
    return `${this.withScheme(options.https)}/storage/public/${key}`;
  }

  /** The session id named by one of this store's upload URLs, else null (not an error). */
  private sessionIdOf(uploadUrl: string): string | null {
    if (!uploadUrl.startsWith(`${this.origin}/storage/upload/`)) return null;
    return new URL(uploadUrl).pathname.split('/').pop() ?? null;
  }

  async uploadProgress(uploadUrl: string): Promise<number | null> {
    const id = this.sessionIdOf(uploadUrl);
    const session = id ? await guarded(this.sessions.get(id)) : null;
    return session ? session.received : null;
  }

  /** Removes the session at once: its URL answers 404 from then on, whatever it was doing. */
  async cancelUpload(uploadUrl: string): Promise<void> {
    const id = this.sessionIdOf(uploadUrl);
    if (id) await guarded(this.sessions.remove(id));
  }

  /** Removes sessions (pending or completed) whose absolute deadline fell in an hour before `now`. */
  sweepUploadSessions(now: Date): Promise<number> {
    return guarded(this.sessions.sweep(now));
  }

  async close(): Promise<void> {
    await this.md5.close();
  }

  // ---- What the HTTP layer (storage.routes.ts) and the Files API need beyond the port ----

  /** Checks a download URL's `expires` and `signature` query values for exactly this key. */
  verifyDownload(key: string, expires: unknown, signature: unknown, now = this.clock()): SignatureCheck {
    if (!isSafeObjectKey(key)) return 'invalid';
    return verifyUrlSignature(
      this.secret,
      { target: key, action: 'download', expires: parseExpires(expires) },
      signature,
      now,
    );
  }

  /**
   * Checks an upload URL. The signature's expiry is the first-use deadline: once a request was
   * accepted, the session may continue after it (long uploads must not break half-way), but never
   * past its absolute deadline (`closesAt`, the pending-upload TTL after it opened), used or not.
   * Marks the session used on success.
   */
  async authorizeUpload(
    id: string,
    expires: unknown,
    signature: unknown,
    now = this.clock(),
  ): Promise<UploadAuthorization> {
    const session = await guarded(this.sessions.get(id));
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
    if (!session.used) await guarded(this.sessions.markUsed(id));
    return { ok: true, session: { ...session, used: true } };
  }

  /** The upload session with its received offset, or null. */
  uploadSession(id: string): Promise<UploadSessionState | null> {
    return guarded(this.sessions.get(id));
  }

  /**
   * Appends a chunk at `offset` (ignored, state returned, when it is not the received offset).
   * Throws StoreError('invalid') if the chunk holds more than `maxBytes`; stored bytes stay.
   */
  appendToSession(id: string, offset: number, body: Readable, maxBytes: number): Promise<UploadSessionState> {
    return guarded(this.sessions.append(id, offset, body, maxBytes));
  }

  /** Replaces the received bytes with one whole body (single-shot PUT/POST without Content-Range). */
  receiveWholeBody(id: string, body: Readable, maxBytes: number): Promise<UploadSessionState> {
    return guarded(this.sessions.replaceWhole(id, body, maxBytes));
  }

  /**
   * Turns the received bytes into the object of the session's key, private (the Files API makes it
   * public when its record takes these bytes). Checks nothing about the file: the key is one
   * generation of it, which the record serves only if this session is still the one it opened.
   */
  completeSession(id: string): Promise<UploadSessionState> {
    return guarded(
      this.sessions.complete(id, async (part, md5, size, session) => {
        await this.commit(session.key, part, {
          contentType: session.contentType,
          md5,
          size,
          public: false,
          filename: session.filename,
        });
      }),
    );
  }
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
