/**
 * scrypt in a small pool of worker threads. node's async `crypto.scrypt` runs on libuv's thread
 * pool, the same four threads file I/O uses: 32 concurrent logins once queued every file read
 * behind tens of hashes (a download went from 12 ms p99 to 3.3 s p50). Here each worker calls
 * `scryptSync`, which computes on the worker's own thread and never touches the libuv pool.
 *
 * One job per worker at a time (a hash is tens of milliseconds; messaging is noise beside it); at
 * most `maxQueue` jobs wait, later ones are refused at once with HashingBusyError instead of
 * piling up. Idle workers are unref'd (they never keep a process alive) and end after `idleMs`.
 * A worker that dies fails the job it held (never hangs) and the next job starts a new one.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HashingBusyError, type ScryptCost, type ScryptRunner } from './scrypt-runner';

/**
 * The worker, inlined and started with `eval: true` like the RSA signer pool's: it runs unchanged
 * from the .ts sources under jest and from dist/. Plain CommonJS, no imports from our code. It
 * lowers its own priority (Linux nice values are per thread), so on a busy machine the event loop
 * is first in line for a core and hashing takes what is left.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
if (process.platform === 'linux') {
  try { require('node:os').setPriority(10); } catch {}
}
parentPort.on('message', (job) => {
  try {
    const key = scryptSync(job.password, job.salt, job.keyLength, job.options);
    parentPort.postMessage({ id: job.id, key });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/** Memory one hash may take; generous for the parameters passwords.ts accepts (N <= 2^20, r*p < 64). */
const MAX_MEM = 256 * 1024 * 1024;

interface Job {
  id: number;
  password: string;
  salt: Buffer;
  keyLength: number;
  cost: ScryptCost;
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  idleTimer: NodeJS.Timeout | null;
  /** Set when the pool ends the worker itself (idle, close), so its exit is not a failure. */
  retiring: boolean;
}

type Reply = { id: number; key?: Uint8Array; error?: string };

export interface ScryptWorkersOptions {
  /** Worker threads at most, started on demand; by default one per spare core, 1 to 2. */
  size?: number;
  /** Jobs that may wait for a worker; more are refused with HashingBusyError. 64 by default. */
  maxQueue?: number;
  /** An idle worker ends after this long (a new one starts on demand). 30 s by default. */
  idleMs?: number;
}

/** What the pool has done since it was created (for tests and operators). */
export interface ScryptWorkersStats {
  readonly workersStarted: number;
  readonly hashed: number;
  readonly failed: number;
  readonly refused: number;
  readonly queued: number;
}

export class ScryptWorkers implements ScryptRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly idleMs: number;
  private nextId = 1;
  private closed = false;
  private counts = { workersStarted: 0, hashed: 0, failed: 0, refused: 0 };

  constructor(options: ScryptWorkersOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.min(2, availableParallelism() - 1));
    this.maxQueue = Math.max(0, options.maxQueue ?? 64);
    this.idleMs = options.idleMs ?? 30_000;
  }

  /**
   * scrypt(password, salt, keyLength, cost) computed in a worker. Rejects with HashingBusyError
   * when `maxQueue` jobs already wait, and with an Error if the pool is closed, the parameters are
   * refused, or the worker dies meanwhile.
   */
  derive(password: string, salt: Buffer, keyLength: number, cost: ScryptCost): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('scrypt workers are closed'));
    const idle = this.slots.some((s) => !s.job) || this.slots.length < this.size;
    if (!idle && this.queue.length >= this.maxQueue) {
      this.counts.refused++;
      return Promise.reject(new HashingBusyError(`${this.queue.length} password hashes are already waiting`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, password, salt, keyLength, cost, resolve, reject });
      this.dispatch();
    });
  }

  stats(): ScryptWorkersStats {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Ends every worker as a crash would: what they hold fails, the pool stays open (tests). */
  async crashWorkers(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  /** Ends the workers; waiting and later jobs reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('scrypt workers are closed');
    for (const job of this.queue.splice(0)) job.reject(err);
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      slot.retiring = true;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.job?.reject(err);
      slot.job = null;
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) this.slots.push((slot = this.startWorker()));
      if (!slot) return;
      const job = this.queue.shift() as Job;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
      slot.job = job;
      // A busy worker keeps the process alive until its answer arrives; an idle one never does.
      slot.worker.ref();
      const { N, r, p } = job.cost;
      slot.worker.postMessage({
        id: job.id,
        password: job.password,
        salt: job.salt,
        keyLength: job.keyLength,
        options: { N, r, p, maxmem: MAX_MEM },
      });
    }
  }

  private startWorker(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, job: null, idleTimer: null, retiring: false };
    this.counts.workersStarted++;
    let answered = false;
    worker.on('message', (reply: Reply) => {
      answered = true;
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = null;
      if (reply.key) {
        this.counts.hashed++;
        job.resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.byteLength));
      } else {
        this.counts.failed++;
        job.reject(new Error(`scrypt failed: ${reply.error ?? 'no result'}`));
      }
      this.dispatch();
      if (!slot.job) this.idle(slot);
    });
    // A dead worker fails only its job and leaves the rotation; the next job starts a new one.
    // One that died before ever answering cannot start at all, so the queue fails too instead of
    // respawning workers in a loop.
    const retire = (err: Error): void => {
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots.splice(index, 1);
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      if (slot.retiring) return;
      slot.retiring = true;
      if (slot.job) {
        this.counts.failed++;
        slot.job.reject(err);
        slot.job = null;
      }
      if (!answered) for (const job of this.queue.splice(0)) job.reject(err);
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => retire(err));
    worker.on('exit', (code) => retire(new Error(`scrypt worker exited with code ${code}`)));
    // Only after the listeners: attaching a 'message' listener refs the worker's port again.
    worker.unref();
    return slot;
  }

  private idle(slot: Slot): void {
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      if (slot.job) return;
      slot.retiring = true;
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots.splice(index, 1);
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }
}
