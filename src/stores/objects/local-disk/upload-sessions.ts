/**
 * Resumable upload sessions of the local storage backend, kept on disk under `<dir>/.uploads/`:
 * `<id>.json` (what the session was opened for) and `<id>.part` (the bytes received so far; its
 * size is the one truth about the received offset). Bytes are streamed, never held in memory.
 *
 * Two pointer trees make every lookup one by key, never a scan of all sessions:
 * `keys/<object key>/<id>` (the sessions of one object key, so deleting a file visits only its own)
 * and `closing/<hour>/<id>` (sessions by the hour their absolute deadline falls in, so the sweeper
 * visits only expired ones). A session, completed or not, is removed when its object is deleted,
 * when it is cancelled (a newer upload of the file opened) or by the sweep after its deadline.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StoreError, type UploadSessionOptions } from '../../../domain/ports';
import { md5OfFile, type Md5Workers, type RunningMd5 } from './md5-workers';
import { withSessionLock } from './session-lock';
import { closingDir, removeListedSessions, sweepClosedHours } from '../session-index';

/** What a session was opened for, as recorded on disk. */
export interface UploadSessionRecord {
  id: string;
  key: string;
  contentType: string;
  /** Declared size in bytes; absent when unknown. */
  size?: number;
  filename: string;
  /** Epoch ms: the URL must be first used before this instant. */
  firstUseDeadline: number;
  /** Epoch ms: no request is accepted after this instant, used or not. */
  closesAt: number;
  used: boolean;
  completed: boolean;
}

/** A session with the bytes received so far. */
export interface UploadSessionState extends UploadSessionRecord {
  received: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** Signals that the client sent more bytes than it may (the request's bytes are discarded). */
class TooManyBytes extends Error {}

/**
 * Passes at most `limit` bytes (erroring on the first byte beyond), counting them and feeding them
 * to `hash` if given; waits while the hash worker is behind, so memory stays bounded.
 */
function metered(limit: number, counter: { bytes: number }, hash: RunningMd5 | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.bytes += chunk.length;
      if (counter.bytes > limit) return callback(new TooManyBytes());
      if (!hash) return callback(null, chunk);
      hash.update(chunk);
      const behind = hash.drained();
      if (behind) void behind.then(() => callback(null, chunk));
      else callback(null, chunk);
    },
  });
}

export class UploadSessions {
  private readonly locks = new Map<string, Promise<unknown>>();
  // MD5 of the bytes received so far, kept while they arrive in order in this process, so
  // completing a large upload need not read it back from disk. Any doubt drops the entry and
  // completion falls back to hashing the part file.
  // In a cluster another worker may have taken chunks in between: the entry also keeps the part
  // file's identity (inode, size, mtime) as this process left it, and anything else drops it.
  private readonly running = new Map<string, { hash: RunningMd5; offset: number; stamp: string }>();

  /** The lock files of sessions being worked on (session-lock.ts). */
  readonly lockDir: string;

  constructor(
    private readonly dir: string,
    private readonly md5: Md5Workers,
  ) {
    this.lockDir = path.join(dir, 'locks');
  }

  /**
   * Takes the running hash of a session out of the map; the caller keeps or abandons it. One the
   * part file no longer matches (another process wrote it) is abandoned here and not returned.
   */
  private async takeRunning(id: string): Promise<{ hash: RunningMd5; offset: number } | undefined> {
    const running = this.running.get(id);
    this.running.delete(id);
    if (!running) return undefined;
    if ((await partStamp(this.file(id, 'part'))) === running.stamp) return running;
    running.hash.abandon();
    return undefined;
  }

  private file(id: string, ext: 'json' | 'part' | 'whole'): string {
    // Ids reach this point from URLs: the allow-list keeps them inside the uploads directory.
    if (!SESSION_ID.test(id)) throw new StoreError('invalid', 'malformed upload session id');
    return path.join(this.dir, `${id}.${ext}`);
  }

  /**
   * Runs `work` after every earlier operation on the same session finished: queued in memory
   * within this process, and holding the session's lock file against the other worker processes.
   */
  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        // A malformed id names no session (the work finds none) and no file either.
        if (!SESSION_ID.test(id)) return work();
        await mkdir(this.lockDir, { recursive: true });
        return withSessionLock(path.join(this.lockDir, id), work);
      });
    this.locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }
  }

  /** The pointer directory of one object key (keys are safe '/'-joined segments). */
  private keyDir(key: string): string {
    return path.join(this.dir, 'keys', ...key.split('/'));
  }

  private closingDir(closesAt: number): string {
    return closingDir(this.dir, closesAt);
  }

  /**
   * Opens a session for `key`. Pointers first, record last: a session exists once its record does.
   * Without `closesAt` the session closes at its first-use deadline. (`public` is accepted from
   * callers written before sessions stopped carrying it, and ignored: session objects are private.)
   */
  async create(
    key: string,
    options: Omit<UploadSessionOptions, 'closesAt'> & { closesAt?: Date; public?: boolean },
  ): Promise<UploadSessionRecord> {
    const record: UploadSessionRecord = {
      id: randomBytes(24).toString('base64url'),
      key,
      contentType: options.contentType,
      ...(options.size !== undefined ? { size: options.size } : {}),
      filename: options.filename,
      firstUseDeadline: options.expiresAt.getTime(),
      closesAt: (options.closesAt ?? options.expiresAt).getTime(),
      used: false,
      completed: false,
    };
    await Promise.all([
      mkdir(this.keyDir(key), { recursive: true }),
      mkdir(this.closingDir(record.closesAt), { recursive: true }),
    ]);
    await writeFile(path.join(this.keyDir(key), record.id), '');
    await writeFile(path.join(this.closingDir(record.closesAt), record.id), '');
    await writeFile(this.file(record.id, 'part'), Buffer.alloc(0), { flag: 'wx' });
    await this.save(record);
    return record;
  }

  private async save(record: UploadSessionRecord): Promise<void> {
    const tmp = `${this.file(record.id, 'json')}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.file(record.id, 'json'));
  }

  /** The session and its received offset, or null if there is none (malformed ids included). */
  async get(id: string): Promise<UploadSessionState | null> {
    if (!SESSION_ID.test(id)) return null;
    try {
      const stored = JSON.parse(await readFile(this.file(id, 'json'), 'utf8')) as UploadSessionRecord;
      // A record from before absolute deadlines closes at its first-use deadline.
      const record = { ...stored, closesAt: stored.closesAt ?? stored.firstUseDeadline };
      const received = record.completed ? (record.size ?? 0) : (await stat(this.file(id, 'part'))).size;
      return { ...record, received };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Records that the URL has been used, so its first-use deadline no longer applies. */
  async markUsed(id: string): Promise<void> {
    await this.exclusive(id, async () => {
      const session = await this.get(id);
      if (session && !session.used) await this.save({ ...strip(session), used: true });
    });
  }

  /**
   * Appends `body` at `offset`. Returns the state unchanged (body not consumed) when `offset` is not
   * the received offset. At most `maxBytes` are accepted; more is a StoreError('invalid') and the
   * part file is cut back to `offset`, so bytes stored by earlier requests are never lost.
   */
  async append(id: string, offset: number, body: Readable, maxBytes: number): Promise<UploadSessionState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed || offset !== session.received) return session;
      const part = this.file(id, 'part');
      const previous = await this.takeRunning(id);
      if (previous && previous.offset !== offset) previous.hash.abandon();
      const hash = previous?.offset === offset ? previous.hash : offset === 0 ? this.md5.start() : undefined;
      const counter = { bytes: 0 };
      let kept = false;
      try {
        await pipeline(body, metered(maxBytes, counter, hash), createWriteStream(part, { flags: 'a' }));
        const received = (await stat(part)).size;
        if (hash && received === offset + counter.bytes) {
          hash.flush();
          this.running.set(id, { hash, offset: received, stamp: await partStamp(part) });
          kept = true;
        }
        return { ...session, received };
      } catch (err) {
        if (err instanceof TooManyBytes) {
          await truncate(part, offset);
          throw new StoreError('invalid', `the request carries more than the ${maxBytes} bytes this upload accepts`);
        }
        // An aborted request keeps what reached the disk, as GCS does; the client probes and resumes.
        if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
      } finally {
        if (!kept) hash?.abandon();
      }
      return { ...session, received: (await stat(part)).size };
    });
  }

  /**
   * Receives a whole body in one request into a scratch file (the part file is left alone, so a
   * refused body loses nothing), then makes it the session's received bytes.
   */
  async replaceWhole(id: string, body: Readable, maxBytes: number): Promise<UploadSessionState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed) return session;
      const scratch = this.file(id, 'whole');
      (await this.takeRunning(id))?.hash.abandon();
      const hash = this.md5.start();
      const counter = { bytes: 0 };
      let kept = false;
      try {
        await pipeline(body, metered(maxBytes, counter, hash), createWriteStream(scratch));
        const size = (await stat(scratch)).size;
        if (session.size !== undefined && size !== session.size) {
          throw new StoreError('invalid', `the body has ${size} bytes, the upload declared ${session.size}`);
        }
        await rename(scratch, this.file(id, 'part'));
        if (counter.bytes === size) {
          hash.flush();
          this.running.set(id, { hash, offset: size, stamp: await partStamp(this.file(id, 'part')) });
          kept = true;
        }
        return { ...session, received: size };
      } catch (err) {
        await rm(scratch, { force: true });
        if (err instanceof TooManyBytes)
          throw new StoreError('invalid', `the body is larger than the declared ${maxBytes} bytes`);
        throw err;
      } finally {
        if (!kept) hash.abandon();
      }
    });
  }

  /**
   * Completes the session: hands the part file (path and md5) to `commit`, which moves it into
   * place, then marks the session completed. Idempotent.
   */
  async complete(
    id: string,
    commit: (partFile: string, md5: string, size: number, session: UploadSessionState) => Promise<void>,
  ): Promise<UploadSessionState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed) return session;
      if (session.size !== undefined && session.received !== session.size) {
        throw new StoreError('invalid', `received ${session.received} bytes, the upload declared ${session.size}`);
      }
      const part = this.file(id, 'part');
      const running = await this.takeRunning(id);
      let md5: string | undefined;
      if (running?.offset === session.received) {
        // A failed worker loses only its shortcut: the stored bytes are hashed instead.
        md5 = await running.hash.digest().catch(() => undefined);
      } else {
        running?.hash.abandon();
      }
      md5 ??= await md5OfFile(part);
      await commit(part, md5, session.received, session);
      const done = { ...strip(session), size: session.received, completed: true };
      await this.save(done);
      return { ...done, received: session.received };
    });
  }

  /**
   * Removes one session, pending or completed: record, bytes and pointers. Idempotent; a
   * missing or malformed id is not an error.
   */
  async remove(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.exclusive(id, async () => {
      (await this.takeRunning(id))?.hash.abandon();
      const session = await this.get(id);
      // The record goes first: from then on the session is gone for every request.
      await rm(this.file(id, 'json'), { force: true });
      await Promise.all([rm(this.file(id, 'part'), { force: true }), rm(this.file(id, 'whole'), { force: true })]);
      if (session) {
        await rm(path.join(this.keyDir(session.key), id), { force: true });
        await rm(path.join(this.closingDir(session.closesAt), id), { force: true });
        // An emptied pointer directory goes too, so deleted keys leave nothing behind.
        await rmdir(this.keyDir(session.key)).catch(() => undefined);
      }
    });
  }

  /** Removes every session (pending or completed) of `key`, and with `prefix` of every key under `key + '/'`. */
  async deleteForKey(key: string, options: { prefix?: boolean } = {}): Promise<void> {
    const dir = this.keyDir(key);
    await removeListedSessions(dir, options.prefix === true, (id) => this.remove(id));
    if (options.prefix) await rm(dir, { recursive: true, force: true });
  }

  /** Removes every session whose absolute deadline lies in an hour that ended before `now`. */
  async sweep(now: Date): Promise<number> {
    return sweepClosedHours(this.dir, now, (id) => this.remove(id));
  }
}

/** The part file's identity as last written: another process's write changes it. */
async function partStamp(file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'missing';
  }
}

function strip(state: UploadSessionState): UploadSessionRecord {
  const { received: _received, ...record } = state;
  return record;
}
