/**
 * A small pool of warm isolates for one app: created lazily up to `size`, each lent to one call at
 * a time, replaced when a call left it disposed.
 *
 * Shared fairly between callers (a user, master, one client address for app credentials: see
 * `BlInvocation.caller`). One caller holds at most `size - 1` isolates at once (all of a pool of
 * one), so with two or more there is always an isolate no single caller can take: a caller who
 * holds none starts at once while another floods the app with slow calls, instead of waiting for
 * one of them to end. Calls beyond a caller's share wait in a queue of their caller; a freed
 * isolate goes to the waiting caller that holds the fewest isolates (the longest-waiting first
 * among equals), so a caller who holds none is served by the next isolate to come free, however
 * many calls another caller has waiting. Each caller's queue is bounded (more calls are refused at
 * once) and every wait is bounded in time; both refusals are BLTimeoutError.
 */
import { errors } from '../../domain/errors';
import type { IsolateWorker } from './isolate-worker';

export interface IsolatePoolOptions {
  /** Isolates of the app, i.e. its calls running at once. */
  readonly size: number;
  /** Calls of one caller that may wait for an isolate; more are refused at once. */
  readonly queuePerCaller: number;
  /** How long a call may wait for an isolate before it fails with BLTimeoutError (ms). */
  readonly waitMs: number;
}

interface Waiter {
  readonly caller: string;
  /** Arrival order across all callers: ties between equally served callers go to the oldest. */
  readonly seq: number;
  resolve: (worker: IsolateWorker) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/** What the pool is doing now, for tests and operators. */
export interface IsolatePoolStats {
  /** Isolates lent out (or being created for a call), by caller. */
  readonly held: Record<string, number>;
  /** Calls waiting for an isolate, by caller. */
  readonly waiting: Record<string, number>;
}

export class IsolatePool {
  private readonly idle: IsolateWorker[] = [];
  /** Lent isolates and the caller holding each. */
  private readonly lent = new Map<IsolateWorker, string>();
  /** Isolates each caller holds or is about to get (an isolate being created for it). */
  private readonly held = new Map<string, number>();
  /** Waiting calls, one FIFO queue per caller (only callers with waiting calls have an entry). */
  private readonly queues = new Map<string, Waiter[]>();
  /** Isolates that exist or are being created. */
  private count = 0;
  private nextSeq = 0;
  private closed = false;

  constructor(
    private readonly create: () => Promise<IsolateWorker>,
    private readonly options: IsolatePoolOptions,
  ) {}

  /**
   * A worker for one call of `caller`; release it afterwards. Rejects with BLTimeoutError when the
   * caller already has `queuePerCaller` calls waiting, or when no isolate came free within `waitMs`,
   * and with BLInternalError once the pool is closed.
   */
  async acquire(caller: string, origin: string): Promise<IsolateWorker> {
    if (this.closed) throw errors.blInternalError('The sandbox is closed.');
    // An idle isolate or room for one means nobody eligible waits: release() hands freed isolates to
    // waiters. A caller at its share waits even then: the spare is kept for someone else.
    const underShare = (this.held.get(caller) ?? 0) < this.share;
    const worker = underShare ? this.idle.pop() : undefined;
    if (worker) return this.lend(worker, caller);
    if (underShare && this.count < this.options.size) {
      this.hold(caller, 1);
      return this.spawn().then(
        (fresh) => this.lend(fresh, caller, false),
        (err: unknown) => {
          this.hold(caller, -1);
          throw err;
        },
      );
    }
    const queue = this.queues.get(caller) ?? [];
    if (queue.length >= this.options.queuePerCaller) {
      throw errors.blTimeoutError(
        `${origin} was refused: ${queue.length} calls of the same caller are already waiting for a free sandbox.`,
      );
    }
    return new Promise<IsolateWorker>((resolve, reject) => {
      const waiter: Waiter = {
        caller,
        seq: this.nextSeq++,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.dequeue(waiter);
          reject(errors.blTimeoutError(`${origin} waited ${this.options.waitMs} ms for a free sandbox.`));
        }, this.options.waitMs),
      };
      queue.push(waiter);
      this.queues.set(caller, queue);
    });
  }

  /** Takes a worker back and hands it (or its replacement, when it was disposed) to the next waiter. */
  release(worker: IsolateWorker): void {
    const caller = this.lent.get(worker);
    if (caller === undefined) return;
    this.lent.delete(worker);
    this.hold(caller, -1);
    if (!worker.alive) {
      this.count -= 1;
      const waiter = this.closed ? undefined : this.next();
      if (waiter) {
        this.spawn().then(
          (fresh) => waiter.resolve(this.lend(fresh, waiter.caller, false)),
          (err: unknown) => {
            this.hold(waiter.caller, -1);
            waiter.reject(err);
          },
        );
      }
      return;
    }
    if (this.closed) {
      worker.dispose();
      return;
    }
    const waiter = this.next();
    if (waiter) waiter.resolve(this.lend(worker, waiter.caller, false));
    else this.idle.push(worker);
  }

  /** Disposes every isolate (running calls end with BLInternalError) and refuses waiting calls. */
  close(): void {
    this.closed = true;
    for (const queue of this.queues.values()) {
      for (const waiter of queue) {
        clearTimeout(waiter.timer);
        waiter.reject(errors.blInternalError('The sandbox was closed.'));
      }
    }
    this.queues.clear();
    for (const worker of [...this.idle.splice(0), ...this.lent.keys()]) worker.dispose('closed');
  }

  stats(): IsolatePoolStats {
    const waiting: Record<string, number> = {};
    for (const [caller, queue] of this.queues) waiting[caller] = queue.length;
    return { held: Object.fromEntries(this.held), waiting };
  }

  /** Isolates one caller may hold at once: all but one, so another caller always finds one. */
  private get share(): number {
    return Math.max(1, this.options.size - 1);
  }

  /**
   * Takes the waiter to serve next off its queue, counting the isolate it gets as held already: the
   * first waiter of the caller holding the fewest isolates, the longest-waiting among equals; never
   * one whose caller holds its whole share.
   */
  private next(): Waiter | undefined {
    let best: Waiter | undefined;
    let bestHeld = Infinity;
    for (const [caller, queue] of this.queues) {
      const head = queue[0];
      const held = this.held.get(caller) ?? 0;
      if (held >= this.share) continue;
      if (head && (held < bestHeld || (held === bestHeld && best && head.seq < best.seq))) {
        best = head;
        bestHeld = held;
      }
    }
    if (!best) return undefined;
    this.dequeue(best);
    clearTimeout(best.timer);
    this.hold(best.caller, 1);
    return best;
  }

  private dequeue(waiter: Waiter): void {
    const queue = this.queues.get(waiter.caller);
    if (!queue) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(waiter.caller);
  }

  private hold(caller: string, delta: number): void {
    const held = (this.held.get(caller) ?? 0) + delta;
    if (held > 0) this.held.set(caller, held);
    else this.held.delete(caller);
  }

  private async spawn(): Promise<IsolateWorker> {
    this.count += 1;
    try {
      const worker = await this.create();
      if (this.closed) {
        worker.dispose('closed');
        throw errors.blInternalError('The sandbox was closed.');
      }
      return worker;
    } catch (err) {
      this.count -= 1;
      throw err;
    }
  }

  /** Lends `worker` to `caller`; `count` false when the isolate was already counted as held for it. */
  private lend(worker: IsolateWorker, caller: string, count = true): IsolateWorker {
    if (count) this.hold(caller, 1);
    this.lent.set(worker, caller);
    return worker;
  }
}
