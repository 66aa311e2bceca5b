/**
 * The host side of one sandboxed call: answers the isolate's `hostCall(op, json)` requests
 * (collectionAccess, logger, timers) for exactly that call, and collects its asynchronous outcome.
 * Everything arriving is JSON text parsed here and everything answered is JSON text, so hook code
 * never holds a host object. When the call ends, its timers are dropped and later requests of it
 * are refused, so nothing of a finished call touches the store or the log.
 */
import type { Logger } from 'pino';
import { isKinveyError } from '../../domain/errors';
import { StoreError } from '../../domain/ports';
import type { CollectionAccess } from './collection-access';

/** Longest log message kept, in characters; longer ones are cut and marked. */
export const MAX_LOG_MESSAGE = 8192;
/** Log messages one call may write; the rest are dropped (one warning says so). */
export const MAX_LOGS_PER_CALL = 200;
/** Longest request text the isolate may send (JSON of documents or a query); parsing it is main-thread work. */
export const MAX_REQUEST_CHARS = 16 * 1024 * 1024;
/** collectionAccess operations one call may have running at once. */
export const MAX_PENDING_OPERATIONS = 64;

const LEVELS = new Set(['debug', 'info', 'warn', 'error', 'fatal']);

export interface HostCallDeps {
  readonly id: number;
  readonly logger: Logger;
  readonly collections: CollectionAccess;
  /** Epoch ms after which the call is over anyway (timers never outlive it). */
  readonly deadline: number;
  /** Where the code came from, for error messages. */
  readonly origin: string;
}

export class HostCall {
  readonly id: number;
  readonly deadline: number;
  readonly origin: string;
  /** Resolves with the outcome text once the isolate reports an asynchronous end; rejects on `fail`. */
  readonly completion: Promise<string>;
  private settle!: (text: string) => void;
  private abort!: (err: unknown) => void;
  private ended = false;
  private logs = 0;
  private pending = 0;
  private readonly timers = new Map<NodeJS.Timeout, (fired: boolean) => void>();

  constructor(private readonly deps: HostCallDeps) {
    this.id = deps.id;
    this.deadline = deps.deadline;
    this.origin = deps.origin;
    this.completion = new Promise<string>((resolve, reject) => {
      this.settle = resolve;
      this.abort = reject;
    });
    this.completion.catch(() => undefined); // nobody awaits it when the call ended synchronously
  }

  /** The isolate reported the call's outcome (response.continue/complete/error after an await). */
  notify(text: string): void {
    if (!this.ended) this.settle(text);
  }

  /** The call failed outside its first run (an answer's callback ran out of time or memory). */
  fail(err: unknown): void {
    if (!this.ended) this.abort(err);
  }

  get active(): boolean {
    return !this.ended;
  }

  /** Answers one request of the isolate; never rejects (failures are `{error}` answers). */
  async handle(op: string, text: string): Promise<string> {
    if (this.ended) return answerError('The Business Logic call already ended.');
    if (text.length > MAX_REQUEST_CHARS)
      return answerError(`The request to the server is larger than ${MAX_REQUEST_CHARS} characters of JSON.`);
    try {
      const value: unknown = JSON.parse(text);
      switch (op) {
        case 'sleep':
          return JSON.stringify({ ok: await this.sleep(Number(value)) });
        case 'log':
          this.log(value);
          return JSON.stringify({ ok: null });
        case 'collection':
          return JSON.stringify({ ok: await this.collection(value) });
        default:
          return answerError(`Unknown host operation ${op.slice(0, 40)}.`);
      }
    } catch (err) {
      return answerError(this.describe(err));
    }
  }

  /** Ends the call: pending timers resolve as not fired, later requests are refused. */
  end(): void {
    this.ended = true;
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve(false);
    }
    this.timers.clear();
  }

  /**
   * Resolves true when `ms` have passed. A timer due after the deadline never fires: it resolves
   * false at the deadline (the call is timing out then), not early as if its time had passed.
   */
  private sleep(ms: number): Promise<boolean> {
    const wanted = Math.max(0, Number.isFinite(ms) ? ms : 0);
    const left = Math.max(0, this.deps.deadline - Date.now());
    const due = wanted <= left;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          resolve(due && !this.ended);
        },
        due ? wanted : left,
      );
      this.timers.set(timer, resolve);
    });
  }

  private log(value: unknown): void {
    const entry = (value ?? {}) as { level?: unknown; message?: unknown };
    const level = typeof entry.level === 'string' && LEVELS.has(entry.level) ? entry.level : 'info';
    this.logs += 1;
    if (this.logs > MAX_LOGS_PER_CALL) {
      if (this.logs === MAX_LOGS_PER_CALL + 1)
        this.deps.logger.warn(
          `Business Logic wrote more than ${MAX_LOGS_PER_CALL} log messages in one call; the rest are dropped`,
        );
      return;
    }
    // The isolate side already cuts messages, but it runs the app's code: bound them again here.
    let message = typeof entry.message === 'string' ? entry.message : String(entry.message);
    if (message.length > MAX_LOG_MESSAGE)
      message = `${message.slice(0, MAX_LOG_MESSAGE)}... (${message.length - MAX_LOG_MESSAGE} more characters cut)`;
    this.deps.logger[level as 'info'](message);
  }

  private async collection(value: unknown): Promise<unknown> {
    const request = (value ?? {}) as { collection?: unknown; method?: unknown; args?: unknown };
    if (this.pending >= MAX_PENDING_OPERATIONS)
      throw new Error(`At most ${MAX_PENDING_OPERATIONS} collectionAccess operations may run at once in one call.`);
    this.pending += 1;
    try {
      return await this.deps.collections.execute(
        String(request.collection),
        String(request.method),
        Array.isArray(request.args) ? request.args : [],
      );
    } finally {
      this.pending -= 1;
    }
  }

  /** The message hook code sees for a failed host operation; unexpected errors are logged, not shown. */
  private describe(err: unknown): string {
    if (isKinveyError(err)) return `${err.error}: ${err.debug || err.description}`;
    if (err instanceof StoreError) {
      return err.kind === 'duplicate'
        ? 'EntityAlreadyExists: an entity with this _id already exists in the collection.'
        : `The data store refused the operation (${err.kind}).`;
    }
    if (err instanceof Error && err.name === 'Error') return err.message;
    this.deps.logger.error({ err }, 'Business Logic host operation failed');
    return 'The operation failed on the server.';
  }
}

function answerError(message: string): string {
  return JSON.stringify({ error: message });
}
