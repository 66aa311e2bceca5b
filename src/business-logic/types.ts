/**
 * The shapes Business Logic passes around: what kinvey-cli's environment file configures, what a
 * hook or endpoint receives, and what it answers. Internal code (the sandbox) and Flex services
 * (the Flex client) both implement `BusinessLogicFunction`; the pipeline only knows that port.
 */

export { COLLECTION_HOOKS } from '../domain/apps/business-logic-config';
export type {
  BusinessLogicConfig,
  CollectionHookName,
  CustomEndpointSpec,
  EndpointSchedule,
  ExternalCollectionSpec,
  FlexServiceSpec,
  FunctionSpec,
} from '../domain/apps/business-logic-config';
import type { CollectionHookName } from '../domain/apps/business-logic-config';

/**
 * What a hook or endpoint sees as `request` (kinvey-protocol.md §7). Plain JSON: it crosses into
 * the sandbox and onto the Flex wire.
 */
export interface BlRequest {
  /** GET, POST, PUT or DELETE. */
  method: string;
  /** The client's request headers, lower-case names. */
  headers: Record<string, string>;
  body: unknown;
  /** URL query parameters (`query` as its JSON string, `limit`, ...), strings. */
  params: Record<string, string>;
  /** The user's username; the app key for master or app credentials. */
  username: string;
  /** The user's `_id`; empty for master or app credentials. */
  userId: string;
  appKey: string;
  /** The collection (`user` and `_blob` for the system collections); absent for endpoints. */
  collectionName?: string;
  /** The entity id of by-id requests. */
  entityId?: string;
  /** The custom endpoint's name, for endpoints. */
  endpoint?: string;
}

/** What a hook or endpoint sees (and may change) as `response`. */
export interface BlResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** How a function ended: `continue` is `response.continue()` (go on), false is `response.complete()`. */
export interface BlOutcome {
  request: BlRequest;
  response: BlResponse;
  continue: boolean;
}

export interface BlInvocation {
  readonly appKey: string;
  /**
   * Who the call is made for, as the isolate pool shares isolates fairly between callers: one key
   * per user, master, app credentials from one client address, the scheduler (see callerOf). Not
   * shown to the function.
   */
  readonly caller: string;
  /** The hook (`onPreSave`, ...) or, for custom endpoints, `onRequest`. */
  readonly functionName: CollectionHookName | 'onRequest';
  readonly stage: 'pre' | 'post' | 'customEndpoint';
  readonly request: BlRequest;
  readonly response: BlResponse;
  /** Shared by the functions of one client request (Kinvey's `tempObjectStore`). */
  readonly tempObjectStore: Record<string, unknown>;
}

/**
 * One configured hook or endpoint. `run` resolves with the outcome, or throws a KinveyError:
 * 550 BLRuntimeError / BLTimeoutError / BLSyntaxError / BLViolationError / BLInternalError for code
 * that failed, or the Kinvey error a Flex service answered. It never throws anything else and
 * never hangs past its time limit.
 */
export interface BusinessLogicFunction {
  run(invocation: BlInvocation): Promise<BlOutcome>;
}
