/**
 * The last Business Logic failures of each app, for the management API (`GET
 * /admin/:appKey/business-logic`, the console's Business Logic page). Kept in the document
 * store's shared logs (SharedLogs in ports.ts), so every instance on one store shows the same
 * failures, whichever instance ran them, and they survive a restart.
 */
import { isKinveyError } from '../domain/errors';
import type { SharedLogs } from '../domain/ports';
import type { FunctionFactory } from './app-functions';
import type { BusinessLogicFunction } from './types';

const LOG_NAME = 'business-logic-errors';
/** Failures kept per app; older ones are dropped. */
export const RECENT_ERRORS_PER_APP = 50;
/** Longest string kept of a failure (name, description, debug), so a hook cannot grow memory. */
export const RECENT_ERROR_TEXT_LIMIT = 2048;

/** One failed hook or endpoint call, as the management API shows it. */
export interface RecentBusinessLogicError {
  /** ISO time of the failure. */
  readonly at: string;
  readonly kind: 'hook' | 'endpoint';
  /** The hook (`onPreSave`, ...) or the custom endpoint's configured name. */
  readonly name: string;
  /** The hook's collection; absent for endpoints. */
  readonly collection?: string;
  /** The Kinvey error name: BLRuntimeError, BLTimeoutError, BLInternalError, or a Flex service's. */
  readonly error: string;
  readonly description: string;
  readonly debug?: string;
}

/**
 * A bounded log of failures per app: at most RECENT_ERRORS_PER_APP each, every string cut at
 * RECENT_ERROR_TEXT_LIMIT characters. Keyed by the server's app keys, never by client input.
 */
export class RecentBusinessLogicErrors {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly logs: SharedLogs,
    private readonly clock: () => Date = () => new Date(),
    private readonly onLost: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Records a failure of a hook or endpoint of the app. Anything not a KinveyError is recorded as
   * BLInternalError. Written in the background: the failing request does not wait for the store,
   * and a store that is down loses the record (told to `onLost`), never the request.
   */
  record(
    appKey: string,
    failure: { kind: 'hook' | 'endpoint'; name: string; collection?: string; error: unknown },
  ): void {
    const { error } = failure;
    const kinvey = isKinveyError(error);
    const entry: RecentBusinessLogicError = {
      at: this.clock().toISOString(),
      kind: failure.kind,
      name: cap(failure.name),
      ...(failure.collection !== undefined ? { collection: cap(failure.collection) } : {}),
      error: kinvey ? cap(error.error) : 'BLInternalError',
      description: kinvey ? cap(error.description) : 'The Business Logic script did not complete.',
      ...(kinvey && error.debug ? { debug: cap(error.debug) } : {}),
    };
    // Bounded: past this many writes in flight (a store that hangs), further failures are not recorded.
    if (this.pending.size >= 100) return this.onLost(new Error('too many failure records in flight'));
    const write = this.logs
      .append(appKey, LOG_NAME, { ...entry }, RECENT_ERRORS_PER_APP)
      .catch(this.onLost)
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves once every record made so far is written (or lost). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** The app's recorded failures, newest first. Throws StoreError('unavailable') like the store. */
  async of(appKey: string): Promise<RecentBusinessLogicError[]> {
    await this.flush();
    const entries = await this.logs.recent(appKey, LOG_NAME, RECENT_ERRORS_PER_APP);
    return entries as unknown as RecentBusinessLogicError[];
  }
}

/** The same factory, whose hooks and endpoints record every failure they throw in `recent`. */
export function recordingFactory(factory: FunctionFactory, recent: RecentBusinessLogicErrors): FunctionFactory {
  const recording = (fn: BusinessLogicFunction): BusinessLogicFunction => ({
    run: async (invocation) => {
      try {
        return await fn.run(invocation);
      } catch (error) {
        const endpoint = invocation.stage === 'customEndpoint';
        recent.record(invocation.appKey, {
          kind: endpoint ? 'endpoint' : 'hook',
          name: endpoint ? (invocation.request.endpoint ?? invocation.functionName) : invocation.functionName,
          ...(endpoint || invocation.request.collectionName === undefined
            ? {}
            : { collection: invocation.request.collectionName }),
          error,
        });
        throw error;
      }
    },
  });
  return {
    internal: (app, spec, commonCode) => recording(factory.internal(app, spec, commonCode)),
    external: (app, spec) => recording(factory.external(app, spec)),
    dataSource: (app, spec) => factory.dataSource(app, spec),
  };
}

function cap(text: string): string {
  const s = String(text);
  return s.length > RECENT_ERROR_TEXT_LIMIT ? `${s.slice(0, RECENT_ERROR_TEXT_LIMIT - 1)}…` : s;
}
