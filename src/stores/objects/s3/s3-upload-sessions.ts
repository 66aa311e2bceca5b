/**
 * Resumable upload sessions of the S3 store. The bytes go to the bucket as they arrive: every full
 * part is sent with UploadPart during the request that brings it; only the bytes after the last
 * full part (fewer than one part) wait in `<dir>/<id>.tail` for the next request. `<id>.json`
 * records the session, its multipart upload id and the parts S3 acknowledged (saved after each),
 * so an interrupted upload resumes after its last acknowledged part, across restarts too.
 *
 * As in the local store (local-disk/upload-sessions.ts), pointer files make every lookup one by
 * key: `keys/<object key>/<id>` and `closing/<hour>/<id>` (the hour the session's absolute
 * deadline falls in), so deleting a file or sweeping expired sessions never scans them all.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, writeFile, type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StoreError, type UploadSessionOptions } from '../../../domain/ports';
import type { Md5Workers, RunningMd5 } from '../local-disk/md5-workers';
import { closingDir, removeListedSessions, sweepClosedHours } from '../session-index';
import { abortMultipart, MultipartWriter, pumpParts, type MultipartState, type UploadedPart } from './multipart';
import { S3Error, type S3Client } from './s3-client';

export interface S3UploadRecord {
  id: string;
  key: string;
  contentType: string;
  size?: number;
  filename: string;
  firstUseDeadline: number;
  closesAt: number;
  used: boolean;
  completed: boolean;
  partSize: number;
  uploadId?: string;
  parts: UploadedPart[];
  /** Bytes waiting in the tail file (always fewer than partSize). */
  tail: number;
}

export interface S3UploadState extends S3UploadRecord {
  received: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

class TooManyBytes extends Error {}

/** What the session needs to make the object once every byte arrived. */
export type Finisher = (
  session: S3UploadState,
  writer: MultipartWriter,
  tail: Buffer[],
  md5: string | null,
) => Promise<void>;

export class S3UploadSessions {
  private readonly locks = new Map<string, Promise<unknown>>();
  // MD5 of the bytes received so far while they arrive in order in this process; any doubt drops
  // it, and the finisher hashes the stored object instead.
  private readonly running = new Map<string, { hash: RunningMd5; offset: number }>();

  constructor(
    private readonly dir: string,
    private readonly client: S3Client,
    private readonly md5: Md5Workers,
    /** The object's headers (Content-Type, Content-Disposition) for a session. */
    private readonly objectHeaders: (session: S3UploadRecord) => Record<string, string>,
  ) {}

  private file(id: string, ext: 'json' | 'tail'): string {
    // Ids reach this point from URLs: the allow-list keeps them inside the sessions directory.
    if (!SESSION_ID.test(id)) throw new StoreError('invalid', 'malformed upload session id');
    return path.join(this.dir, `${id}.${ext}`);
  }

  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }
  }

  private keyDir(key: string): string {
    return path.join(this.dir, 'keys', ...key.split('/'));
  }

  private closingDir(closesAt: number): string {
    return closingDir(this.dir, closesAt);
  }

  /** Opens a session; pointers first, record last (a session exists once its record does). */
  async create(key: string, options: UploadSessionOptions, partSize: number): Promise<S3UploadRecord> {
    const record: S3UploadRecord = {
      id: randomBytes(24).toString('base64url'),
      key,
      contentType: options.contentType,
      ...(options.size !== undefined ? { size: options.size } : {}),
      filename: options.filename,
      firstUseDeadline: options.expiresAt.getTime(),
      closesAt: options.closesAt.getTime(),
      used: false,
      completed: false,
      partSize,
      parts: [],
      tail: 0,
    };
    await Promise.all([
      mkdir(this.keyDir(key), { recursive: true }),
      mkdir(this.closingDir(record.closesAt), { recursive: true }),
    ]);
    await writeFile(path.join(this.keyDir(key), record.id), '');
    await writeFile(path.join(this.closingDir(record.closesAt), record.id), '');
    await this.save(record);
    return record;
  }

  private async save(record: S3UploadRecord): Promise<void> {
    const tmp = `${this.file(record.id, 'json')}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.file(record.id, 'json'));
  }

  /** The session with its received offset, or null (malformed ids included). */
  async get(id: string): Promise<S3UploadState | null> {
    if (!SESSION_ID.test(id)) return null;
    try {
      const record = JSON.parse(await readFile(this.file(id, 'json'), 'utf8')) as S3UploadRecord;
      const received = record.completed
        ? (record.size ?? 0)
        : record.parts.reduce((sum, p) => sum + p.size, 0) + record.tail;
      return { ...record, received };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async markUsed(id: string): Promise<void> {
    await this.exclusive(id, async () => {
      const session = await this.get(id);
      if (session && !session.used) await this.save({ ...strip(session), used: true });
    });
  }

  private async readTail(record: S3UploadRecord): Promise<Buffer[]> {
    if (record.tail === 0) return [];
    const bytes = await readFile(this.file(record.id, 'tail'));
    // The record is the truth: a tail file longer than recorded holds bytes of a failed request.
    return [bytes.subarray(0, record.tail)];
  }

  private async writeTail(id: string, chunks: Buffer[]): Promise<number> {
    const file = this.file(id, 'tail');
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    let handle: FileHandle | undefined;
    let size = 0;
    try {
      handle = await open(tmp, 'w');
      for (const chunk of chunks) {
        await handle.write(chunk);
        size += chunk.length;
      }
    } finally {
      await handle?.close();
    }
    await rename(tmp, file);
    return size;
  }

  /**
   * The writer continuing a session's multipart upload. With `persist`, each acknowledged part is
   * recorded at once (tail emptied: its bytes went into the part), so a crash or a dropped
   * connection resumes after it.
   */
  private writer(record: S3UploadRecord, persist = true): MultipartWriter {
    const state: MultipartState = {
      ...(record.uploadId ? { uploadId: record.uploadId } : {}),
      parts: [...record.parts],
    };
    return new MultipartWriter(this.client, record.key, this.objectHeaders(record), state, async (s) => {
      if (persist) await this.save(withParts(record, s, 0));
    });
  }

  /**
   * Appends `body` at `offset`. Returns the state unchanged (body not consumed) when `offset` is not
   * the received offset. At most `maxBytes` are accepted; more is StoreError('invalid'), and the
   * bytes of this request that were not yet sent as a part are dropped. A dropped connection keeps
   * every byte that arrived (the client probes and resumes).
   */
  append(id: string, offset: number, body: Readable, maxBytes: number): Promise<S3UploadState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed || offset !== session.received) return session;
      return this.receive(session, body, maxBytes);
    });
  }

  /**
   * Replaces the received bytes with one whole body (single-shot PUT/POST without Content-Range).
   * The body goes to a multipart upload of its own: a refused or broken body loses nothing that
   * was received before, and only a complete one of the declared size replaces it.
   */
  replaceWhole(id: string, body: Readable, maxBytes: number): Promise<S3UploadState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed) return session;
      const { uploadId: _old, ...rest } = session;
      const fresh: S3UploadState = { ...rest, parts: [], tail: 0, received: 0 };
      const state = await this.receive(fresh, body, maxBytes, { whole: true, declared: session.size });
      // The earlier bytes are replaced now: their multipart upload goes.
      if (session.uploadId && session.uploadId !== state.uploadId)
        await abortMultipart(this.client, session.key, session.uploadId);
      return state;
    });
  }

  private takeRunning(id: string): { hash: RunningMd5; offset: number } | undefined {
    const running = this.running.get(id);
    this.running.delete(id);
    return running;
  }

  private async receive(
    session: S3UploadState,
    body: Readable,
    maxBytes: number,
    whole?: { whole: true; declared: number | undefined },
  ): Promise<S3UploadState> {
    const previous = this.takeRunning(session.id);
    if (previous && previous.offset !== session.received) previous.hash.abandon();
    const hash =
      previous?.offset === session.received ? previous.hash : session.received === 0 ? this.md5.start() : undefined;
    const writer = this.writer(session, !whole);
    let counted = 0;
    let failure: unknown;
    const buffered = { chunks: await this.readTail(session) };
    try {
      await pumpParts(body, writer, session.partSize, buffered, (chunk) => {
        counted += chunk.length;
        if (counted > maxBytes) throw new TooManyBytes();
        hash?.update(chunk);
        return hash?.drained() ?? undefined;
      });
    } catch (err) {
      failure = err;
      await writer.drain().catch(() => undefined);
    }
    const acknowledged = writer.state.parts.reduce((sum, p) => sum + p.size, 0);
    const rest = buffered.chunks.reduce((sum, c) => sum + c.length, 0);
    const refusal =
      failure instanceof TooManyBytes
        ? new StoreError(
            'invalid',
            whole
              ? `the body is larger than the declared ${maxBytes} bytes`
              : `the request carries more than the ${maxBytes} bytes this upload accepts`,
          )
        : whole && !failure && whole.declared !== undefined && acknowledged + rest !== whole.declared
          ? new StoreError(
              'invalid',
              `the body has ${acknowledged + rest} bytes, the upload declared ${whole.declared}`,
            )
          : undefined;
    // S3's failures are the caller's to report; any other failure is the request's body breaking
    // off (a dropped connection), after which every byte that arrived is kept, as on GCS, unless
    // it was a whole body (which has no offsets to resume from).
    const fatal: Error | undefined =
      refusal ??
      (failure instanceof StoreError || failure instanceof S3Error || (whole && failure)
        ? failure instanceof Error
          ? failure
          : new Error('the upload body failed', { cause: failure })
        : undefined);
    if (fatal) {
      hash?.abandon();
      if (whole) await writer.abort();
      throw fatal;
    }
    const stored = await this.get(session.id);
    if (!stored) {
      await writer.abort();
      throw new StoreError('invalid', 'the upload session was closed');
    }
    // The buffered rest becomes the tail when it starts right after the last acknowledged part:
    // always after a clean request, and after a dropped connection unless a part was lost in flight.
    const contiguous = session.received + counted === acknowledged + rest;
    const tail = contiguous ? await this.writeTail(session.id, buffered.chunks) : whole ? 0 : stored.tail;
    const record = withParts(strip(stored), writer.state, tail);
    await this.save(record);
    const received = acknowledged + tail;
    if (hash && !failure && contiguous) {
      hash.flush();
      this.running.set(session.id, { hash, offset: received });
    } else {
      hash?.abandon();
    }
    return { ...record, received };
  }

  /**
   * Completes the session: `finish` makes the object from the acknowledged parts and the tail
   * (with the MD5 when it was computed as the bytes arrived), then the session is marked
   * completed. Idempotent. Throws StoreError('invalid') when the received size is not the declared one.
   */
  complete(id: string, finish: Finisher): Promise<S3UploadState> {
    return this.exclusive(id, async () => {
      const session = await this.get(id);
      if (!session) throw new StoreError('invalid', 'no such upload session');
      if (session.completed) return session;
      if (session.size !== undefined && session.received !== session.size)
        throw new StoreError('invalid', `received ${session.received} bytes, the upload declared ${session.size}`);
      const running = this.takeRunning(id);
      let md5: string | null = null;
      if (running?.offset === session.received) md5 = await running.hash.digest().catch(() => null);
      else running?.hash.abandon();
      await finish(session, this.writer(session), await this.readTail(session), md5);
      const { uploadId: _done, ...rest } = strip(session);
      const done: S3UploadRecord = { ...rest, size: session.received, completed: true, parts: [], tail: 0 };
      await this.save(done);
      await rm(this.file(id, 'tail'), { force: true });
      return { ...done, received: session.received };
    });
  }

  /** Removes one session (aborting its multipart upload); idempotent, unknown ids are fine. */
  async remove(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.exclusive(id, async () => {
      this.takeRunning(id)?.hash.abandon();
      const session = await this.get(id);
      // The record goes first: from then on the session is gone for every request.
      await rm(this.file(id, 'json'), { force: true });
      await rm(this.file(id, 'tail'), { force: true });
      if (session) {
        if (!session.completed) await abortMultipart(this.client, session.key, session.uploadId);
        await rm(path.join(this.keyDir(session.key), id), { force: true });
        await rm(path.join(this.closingDir(session.closesAt), id), { force: true });
        await rmdir(this.keyDir(session.key)).catch(() => undefined);
      }
    });
  }

  /** Removes every session of `key`, and with `prefix` of every key under `key + '/'`. */
  async deleteForKey(key: string, options: { prefix?: boolean } = {}): Promise<void> {
    const dir = this.keyDir(key);
    await removeListedSessions(dir, options.prefix === true, (id) => this.remove(id));
    if (options.prefix) await rm(dir, { recursive: true, force: true });
  }

  /** Removes (and aborts) every session whose absolute deadline lies in an hour that ended before `now`. */
  async sweep(now: Date): Promise<number> {
    return sweepClosedHours(this.dir, now, (id) => this.remove(id));
  }
}

/** The record with the writer's multipart state and `tail` bytes after its last part. */
function withParts(record: S3UploadRecord, state: MultipartState, tail: number): S3UploadRecord {
  const { uploadId: _old, ...rest } = record;
  return { ...rest, ...(state.uploadId ? { uploadId: state.uploadId } : {}), parts: [...state.parts], tail };
}

function strip(state: S3UploadState): S3UploadRecord {
  const { received: _received, ...record } = state;
  return record;
}
