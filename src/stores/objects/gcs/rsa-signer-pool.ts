/**
 * RSA-SHA256 signatures computed in a small pool of worker threads, so that signing hundreds of
 * GCS URLs (about 1 ms of CPU each) never blocks the event loop. Each worker parses the private key
 * once at start; work is queued with ids and handed out in batches to whichever worker is idle.
 */
import { createPrivateKey } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The worker, inlined and started with `eval: true`: a separate .js file would need a copy step in
 * the build and a different path under jest (which runs the .ts sources), while this works in both.
 * Plain CommonJS, no imports from our code. On Linux nice values are per thread, so the worker
 * lowers its own priority: on a busy machine the event-loop thread is then first in line for a
 * core (elsewhere setPriority(0) would renice the whole process, so it is left alone).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign } = require('node:crypto');
const key = createPrivateKey(workerData.privateKeyPem);
if (process.platform === 'linux') {
  try { require('node:os').setPriority(10); } catch {}
}
parentPort.on('message', (batch) => {
  const signatures = batch.data.map((data) => {
    try { return sign('sha256', Buffer.from(data, 'utf8'), key).toString('hex'); }
    catch (err) { return { error: String(err && err.message || err) }; }
  });
  parentPort.postMessage({ ids: batch.ids, signatures });
});
`;

/** Most requests handed to one worker at once: big enough to amortise messaging, small enough to share. */
const MAX_BATCH = 32;

interface Pending {
  id: number;
  data: string;
  resolve: (hex: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Requests this worker is signing right now; empty means idle. */
  inFlight: Map<number, Pending>;
}

type BatchResult = { ids: number[]; signatures: Array<string | { error: string }> };

/**
 * Signatures that pool workers returned in this process, by worker thread id (never the main
 * thread's 0). Observability only: tests use it to check that RSA signing ran in the pool.
 */
const signedByWorkerThread = new Map<number, number>();

/** A copy of the per-worker-thread counts of signatures returned so far in this process (all pools). */
export function signaturesByWorkerThread(): Map<number, number> {
  return new Map(signedByWorkerThread);
}

export interface RsaSignerPoolOptions {
  /** PEM (PKCS#8 or PKCS#1) RSA private key, e.g. a service account's `private_key`. */
  privateKeyPem: string;
  /** Number of worker threads; 2 by default. */
  size?: number;
}

export class RsaSignerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  /** Throws right away if the key is not a valid private key (rather than inside every worker). */
  constructor(private readonly options: RsaSignerPoolOptions) {
    createPrivateKey(options.privateKeyPem);
  }

  /**
   * The RSASSA-PKCS1-v1_5 SHA-256 signature of the UTF-8 bytes of `data`, as lowercase hex (the
   * form V4 URLs carry). Rejects if the pool is closed or a worker fails while signing it.
   */
  sign(data: string): Promise<string> {
    if (this.closed) return Promise.reject(new Error('RSA signer pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, data, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; pending and later `sign` calls reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('RSA signer pool is closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    const slots = this.slots.splice(0);
    for (const slot of slots) this.failInFlight(slot, err);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    this.ensureWorkers();
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.inFlight.size > 0) continue;
      // Share what is queued between the workers instead of giving the first one everything.
      const size = Math.min(MAX_BATCH, Math.ceil(this.queue.length / this.slots.length));
      const batch = this.queue.splice(0, size);
      for (const p of batch) slot.inFlight.set(p.id, p);
      // A busy worker keeps the process alive until its answers arrive; an idle one never does.
      slot.worker.ref();
      slot.worker.postMessage({ ids: batch.map((p) => p.id), data: batch.map((p) => p.data) });
    }
  }

  private ensureWorkers(): void {
    const size = Math.max(1, this.options.size ?? 2);
    while (this.slots.length < size) this.slots.push(this.startWorker());
  }

  private startWorker(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { privateKeyPem: this.options.privateKeyPem } });
    const slot: Slot = { worker, inFlight: new Map() };
    let answered = false;
    worker.on('message', (result: BatchResult) => {
      answered = true;
      result.ids.forEach((id, i) => {
        const p = slot.inFlight.get(id);
        if (!p) return;
        slot.inFlight.delete(id);
        const signature = result.signatures[i];
        if (typeof signature === 'string') {
          signedByWorkerThread.set(worker.threadId, (signedByWorkerThread.get(worker.threadId) ?? 0) + 1);
          p.resolve(signature);
        } else p.reject(new Error(`RSA signing failed: ${signature?.error ?? 'no result'}`));
      });
      if (slot.inFlight.size === 0) worker.unref();
      this.dispatch();
    });
    // A crashed worker fails only what it held and is replaced. One that died before ever answering
    // cannot start at all, so the queue fails too instead of respawning workers in a loop.
    const retire = (err: Error): void => {
      const index = this.slots.indexOf(slot);
      if (index === -1) return;
      this.slots.splice(index, 1);
      this.failInFlight(slot, err);
      if (!answered) for (const p of this.queue.splice(0)) p.reject(err);
      if (!this.closed && this.queue.length > 0) this.dispatch();
    };
    worker.on('error', (err) => retire(err));
    worker.on('exit', (code) => retire(new Error(`RSA signer worker exited with code ${code}`)));
    // Only after the listeners: attaching a 'message' listener refs the worker's port again.
    worker.unref();
    return slot;
  }

  private failInFlight(slot: Slot, err: Error): void {
    for (const p of slot.inFlight.values()) p.reject(err);
    slot.inFlight.clear();
  }
}
