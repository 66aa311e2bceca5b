/**
 * MD5 of upload bodies, computed in worker threads beside the event loop instead of on it. MD5 runs
 * at about 700 MiB/s on one core, slower than loopback HTTP: hashed inline, it added its whole cost
 * to every upload and blocked other requests meanwhile.
 *
 * The bytes travel through segments of shared memory that both threads keep for the life of the
 * pool: the event loop copies each chunk into a free segment (a memcpy) and posts only its number;
 * the worker hashes it and hands the number back. Nothing is allocated per chunk. (Transferring
 * fresh ArrayBuffers instead made every one count as new external memory, and V8 answered with a
 * major GC every few dozen MiB in both threads.)
 *
 * Backpressure: a running hash reports when more than HIGH_WATER bytes wait in its worker, and the
 * upload stream pauses until they are hashed, so a slow worker bounds memory instead of queueing
 * the whole body. A worker that fails makes its hashes fail (never hang); callers then hash the
 * stored file instead (`md5OfFile`).
 */
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';

/**
 * The worker, inlined and started with `eval: true` for the same reason as the RSA signer pool's:
 * it runs unchanged from the .ts sources under jest and from dist/. Plain CommonJS, no imports.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
const segments = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('md5')));
    hash.update(segments.get(m.segment).subarray(0, m.length));
    parentPort.postMessage({ op: 'ack', id: m.id, segment: m.segment, length: m.length });
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) || createHash('md5');
    hashes.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hash.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  } else if (m.op === 'segment') {
    segments.set(m.segment, new Uint8Array(m.memory));
  } else if (m.op === 'forget') {
    segments.delete(m.segment);
  }
});
`;

/** Bytes per segment: few enough messages per MiB, small enough to stay cheap for small files. */
const SEGMENT_BYTES = 256 * 1024;
/** Bytes posted but not yet hashed above which the producer is asked to wait. */
const HIGH_WATER = 4 * 1024 * 1024;
/** Free segments a worker keeps for reuse (what one upload at the high water mark needs); extra ones are let go. */
const RETAINED_SEGMENTS = HIGH_WATER / SEGMENT_BYTES + 2;

type Reply = { op: 'ack'; id: number; segment: number; length: number } | { op: 'digest'; id: number; hex: string };

interface Segment {
  number: number;
  bytes: Buffer;
}

/** One worker thread with its hashes and its shared segments. */
class Slot {
  readonly hashes = new Map<number, RunningMd5>();
  private readonly segments = new Map<number, Segment>();
  private readonly free: Segment[] = [];
  private nextSegment = 1;
  /** Messages posted that still await an answer; the worker keeps the process alive while > 0. */
  private awaiting = 0;
  failed: Error | null = null;

  constructor(readonly worker: Worker) {}

  post(message: { op: string; [key: string]: unknown }): void {
    if (this.failed) return;
    if ((message.op === 'update' || message.op === 'digest') && this.awaiting++ === 0) this.worker.ref();
    this.worker.postMessage(message);
  }

  answered(): void {
    if (--this.awaiting === 0) this.worker.unref();
  }

  /** A free segment, shared with the worker (a new one when none is free). */
  takeSegment(): Segment {
    const spare = this.free.pop();
    if (spare) return spare;
    const memory = new SharedArrayBuffer(SEGMENT_BYTES);
    const segment = { number: this.nextSegment++, bytes: Buffer.from(memory) };
    this.segments.set(segment.number, segment);
    this.post({ op: 'segment', segment: segment.number, memory });
    return segment;
  }

  returnSegment(segment: Segment): void {
    if (this.free.length < RETAINED_SEGMENTS) return void this.free.push(segment);
    this.segments.delete(segment.number);
    this.post({ op: 'forget', segment: segment.number });
  }

  segment(number: number): Segment | undefined {
    return this.segments.get(number);
  }
}

/** One MD5 being computed in a worker. Feed it in order with `update`, then `digest` once. */
export class RunningMd5 {
  private staging: Segment | null = null;
  private staged = 0;
  private posted = 0;
  private hashed = 0;
  private failure: Error | null = null;
  private waiters: Array<() => void> = [];
  private result: { resolve: (hex: string) => void; reject: (err: Error) => void } | null = null;
  private finished = false;

  /** @internal created by Md5Workers.start */
  constructor(
    private readonly slot: Slot,
    private readonly id: number,
  ) {}

  /** Adds bytes (copied, so the caller may reuse `chunk` at once). */
  update(chunk: Uint8Array): void {
    if (this.failure || this.finished) return;
    let offset = 0;
    while (offset < chunk.length) {
      this.staging ??= this.slot.takeSegment();
      const n = Math.min(chunk.length - offset, SEGMENT_BYTES - this.staged);
      this.staging.bytes.set(chunk.subarray(offset, offset + n), this.staged);
      this.staged += n;
      offset += n;
      if (this.staged === SEGMENT_BYTES) this.flush();
    }
  }

  /** Posts the staged bytes now (at the end of a request, so an idle session holds no segment). */
  flush(): void {
    if (!this.staging || this.failure) return;
    if (this.staged > 0) {
      this.posted += this.staged;
      this.slot.post({ op: 'update', id: this.id, segment: this.staging.number, length: this.staged });
    } else {
      this.slot.returnSegment(this.staging);
    }
    this.staging = null;
    this.staged = 0;
  }

  /** Null when the producer may go on; else a promise that settles once the worker caught up. */
  drained(): Promise<void> | null {
    if (this.failure || this.posted - this.hashed <= HIGH_WATER) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The hex MD5 of every byte given to `update`. Rejects if the worker failed meanwhile. */
  digest(): Promise<string> {
    if (this.finished) return Promise.reject(new Error('digest() was already called'));
    this.flush();
    this.finished = true;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      this.slot.post({ op: 'digest', id: this.id });
    });
  }

  /** Forgets this hash (the worker frees its state). Safe to call at any time, more than once. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.staging && !this.failure) this.slot.returnSegment(this.staging);
    this.staging = null;
    this.release();
    this.slot.post({ op: 'drop', id: this.id });
    this.slot.hashes.delete(this.id);
  }

  /** @internal */
  acknowledged(length: number): void {
    this.hashed += length;
    if (this.posted - this.hashed <= HIGH_WATER) this.release();
  }

  /** @internal */
  digested(hex: string): void {
    this.slot.hashes.delete(this.id);
    this.result?.resolve(hex);
    this.result = null;
  }

  /** @internal */
  fail(err: Error): void {
    this.failure ??= err;
    this.release();
    this.result?.reject(err);
    this.result = null;
  }

  private release(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export class Md5Workers {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private readonly size: number;

  /** `size` worker threads at most, started on first use; by default one per spare core, 1 to 2. */
  constructor(options: { size?: number } = {}) {
    this.size = Math.max(1, options.size ?? Math.min(2, availableParallelism() - 1));
  }

  /** A new running hash on the least busy worker. */
  start(): RunningMd5 {
    if (this.closed) throw new Error('MD5 workers are closed');
    while (this.slots.length < this.size) this.slots.push(this.startWorker());
    const slot = this.slots.reduce((a, b) => (b.hashes.size < a.hashes.size ? b : a));
    const id = this.nextId++;
    const hash = new RunningMd5(slot, id);
    slot.hashes.set(id, hash);
    return hash;
  }

  /** Stops the workers; running hashes fail. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.retire(slot, new Error('MD5 workers are closed'));
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private startWorker(): Slot {
    const slot = new Slot(new Worker(WORKER_SOURCE, { eval: true }));
    slot.worker.on('message', (reply: Reply) => {
      slot.answered();
      if (reply.op === 'ack') {
        const segment = slot.segment(reply.segment);
        if (segment) slot.returnSegment(segment);
      }
      const hash = slot.hashes.get(reply.id);
      if (!hash) return;
      if (reply.op === 'ack') hash.acknowledged(reply.length);
      else hash.digested(reply.hex);
    });
    slot.worker.on('error', (err) => this.retire(slot, err));
    slot.worker.on('exit', (code) => this.retire(slot, new Error(`MD5 worker exited with code ${code}`)));
    // Only after the listeners: attaching a 'message' listener refs the worker's port again.
    slot.worker.unref();
    return slot;
  }

  /** Fails every hash of a dead worker and takes it out of rotation (a new one starts on demand). */
  private retire(slot: Slot, err: Error): void {
    if (slot.failed) return;
    slot.failed = err;
    for (const hash of slot.hashes.values()) hash.fail(err);
    slot.hashes.clear();
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
  }
}

/** MD5 of a file, computed in this thread: the fallback when a running hash could not be used. */
export async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), hash);
  return hash.digest('hex');
}
