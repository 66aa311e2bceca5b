/**
 * A counting gate: at most `limit` jobs run at once, at most `maxQueued` wait; a job that would
 * queue beyond that is refused at once (the caller tries again later) instead of piling up memory.
 */
export class WorkGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  /** Whether a job offered now would be refused. */
  get full(): boolean {
    return this.running >= this.limit && this.waiting.length >= this.maxQueued;
  }

  /** Runs `job` when a slot frees; rejects with GateFull (without running it) when the queue is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxQueued) throw new GateFull();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next job; `running` only drops when nobody waits.
      if (next) next();
      else this.running -= 1;
    }
  }
}

export class GateFull extends Error {
  constructor() {
    super('too many jobs are waiting');
    this.name = 'GateFull';
  }
}
