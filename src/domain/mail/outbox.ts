/**
 * The account mails waiting to be sent. A request only puts its mail here and answers: sending
 * never blocks the request path, and a slow or failing SMTP server costs a request nothing. The
 * queue is bounded (a mail that finds it full is dropped and logged), a few mails are in flight at
 * once, and every failure is logged, never thrown back to a request.
 */
import type { MailMessage, MailTransport } from '../ports';

export interface OutboxOptions {
  /** Mails waiting at most; one more is dropped (and logged). */
  readonly maxQueued?: number;
  /** Mails being sent at once. */
  readonly concurrency?: number;
  /** Where failures and drops are reported (the server's logger). */
  readonly warn: (context: Record<string, unknown>, message: string) => void;
}

export const DEFAULT_OUTBOX = { maxQueued: 1000, concurrency: 2 } as const;

export class MailOutbox {
  private readonly queue: MailMessage[] = [];
  private inFlight = 0;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly transport: MailTransport,
    private readonly options: OutboxOptions,
  ) {
    this.maxQueued = options.maxQueued ?? DEFAULT_OUTBOX.maxQueued;
    this.concurrency = options.concurrency ?? DEFAULT_OUTBOX.concurrency;
  }

  /** Queues a mail; returns false (and logs) when the queue is full. Never throws, never waits. */
  enqueue(message: MailMessage): boolean {
    if (this.queue.length >= this.maxQueued) {
      this.options.warn({ queued: this.queue.length }, 'the mail queue is full: an account mail was dropped');
      return false;
    }
    this.queue.push(message);
    this.pump();
    return true;
  }

  /** Resolves once nothing is queued or in flight (for a graceful stop). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.transport.close();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const message = this.queue.shift() as MailMessage;
      this.inFlight += 1;
      this.transport
        .send(message)
        .catch((err: unknown) =>
          // The address stays out of the log line: it is personal data, and the cause is what an operator needs.
          this.options.warn({ err, subject: message.subject }, 'sending an account mail failed'),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
          if (this.queue.length === 0 && this.inFlight === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }
}
