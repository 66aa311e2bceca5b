/**
 * A small pool of warm isolates for one app: created lazily up to `size`, each lent to one call at
 * a time, replaced when a call left it disposed. Calls beyond `size` queue; the wait counts against
 * their deadline, so a queued call fails with BLTimeoutError rather than waiting forever.
 */
import { errors } from '../../domain/errors';
import type { IsolateWorker } from './isolate-worker';

interface Waiter {
  resolve: (worker: IsolateWorker) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

export class IsolatePool {
  private readonly idle: IsolateWorker[] = [];
  private readonly lent = new Set<IsolateWorker>();
  private readonly waiters: Waiter[] = [];
  /** Isolates that exist or are being created. */
  private count = 0;
  private closed = false;

  constructor(private readonly create: () => Promise<IsolateWorker>, private readonly size: number) {}

  /** A worker for one call, by `deadline` (epoch ms) or BLTimeoutError; release it afterwards. */
  async acquire(deadline: number, origin: string): Promise<IsolateWorker> {
    if (this.closed) throw errors.blInternalError('The sandbox is closed.');
    const worker = this.idle.pop();
    if (worker) return this.lend(worker);
    if (this.count < this.size) return this.lend(await this.spawn());
    return new Promise<IsolateWorker>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(errors.blTimeoutError(`${origin} waited for a free sandbox until its time ran out.`));
        }, Math.max(0, deadline - Date.now())),
      };
      this.waiters.push(waiter);
    });
  }

  /** Takes a worker back; a disposed one is dropped and, if calls are waiting, replaced. */
  release(worker: IsolateWorker): void {
    this.lent.delete(worker);
    if (!worker.alive) {
      this.count -= 1;
      const waiter = this.waiters.shift();
      if (waiter && !this.closed) {
        clearTimeout(waiter.timer);
        this.spawn().then((fresh) => waiter.resolve(this.lend(fresh)), waiter.reject);
      }
      return;
    }
    if (this.closed) {
      worker.dispose();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.lend(worker));
    } else {
      this.idle.push(worker);
    }
  }

  /** Disposes every isolate (running calls end with BLInternalError) and refuses waiting calls. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(errors.blInternalError('The sandbox was closed.'));
    }
    for (const worker of [...this.idle.splice(0), ...this.lent]) worker.dispose('closed');
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

  private lend(worker: IsolateWorker): IsolateWorker {
    this.lent.add(worker);
    return worker;
  }
}
