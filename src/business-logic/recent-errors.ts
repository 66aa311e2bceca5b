/**
 * The last Business Logic failures of each app, kept in memory for the management API
 * (`GET /admin/:appKey/business-logic`). Per instance: each kinbase process knows only the
 * failures it ran itself, and forgets them at restart.
 */
import { isKinveyError } from '../domain/errors';
import type { FunctionFactory } from './app-functions';
import type { BusinessLogicFunction } from './types';

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
  private readonly byApp = new Map<string, RecentBusinessLogicError[]>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** Records a failure of a hook or endpoint of the app. Anything not a KinveyError is recorded as BLInternalError. */
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
    const list = this.byApp.get(appKey) ?? [];
    list.push(entry);
    if (list.length > RECENT_ERRORS_PER_APP) list.splice(0, list.length - RECENT_ERRORS_PER_APP);
    this.byApp.set(appKey, list);
  }

  /** The app's recorded failures, newest first (copies). */
  of(appKey: string): RecentBusinessLogicError[] {
    return [...(this.byApp.get(appKey) ?? [])].reverse();
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
