/**
 * The shapes Business Logic passes around: what kinvey-cli's environment file configures, what a
 * hook or endpoint receives, and what it answers. Internal code (the sandbox) and Flex services
 * (the Flex client) both implement `BusinessLogicFunction`; the pipeline only knows that port.
 */

/** Collection hooks kinbase runs, by Kinvey's names (kinvey-protocol.md §7). */
export const COLLECTION_HOOKS = [
  'onPreSave', 'onPreInsert', 'onPreUpdate', 'onPreFetch', 'onPreDelete',
  'onPostSave', 'onPostInsert', 'onPostUpdate', 'onPostFetch', 'onPostDelete',
  'onPreLogin', 'onPostLogin', 'onLoginFailure',
] as const;
export type CollectionHookName = (typeof COLLECTION_HOOKS)[number];

/** Where a function's code lives: in the sandbox (internal) or in a Flex service (external). */
export type FunctionSpec =
  | {
      readonly type: 'internal';
      /** The script: defines `function onPreSave(request, response, modules)` (or `onRequest`, ...). */
      readonly code: string;
      /** Where the code came from, for error messages: `collectionHooks.books.onPreSave`. */
      readonly origin: string;
    }
  | {
      readonly type: 'external';
      /** Key of the app's `flexServices`. */
      readonly service: string;
      readonly handlerName: string;
      readonly origin: string;
    };

/** `customEndpoints.<name>.schedule`: first run at `start`, then every `intervalSeconds` (null: once). */
export interface EndpointSchedule {
  readonly start: Date;
  readonly intervalSeconds: number | null;
}

export interface CustomEndpointSpec {
  readonly function: FunctionSpec;
  readonly schedule?: EndpointSchedule;
}

/** A collection backed by a Flex service object (`type: "external"`). */
export interface ExternalCollectionSpec {
  readonly service: string;
  readonly serviceObject: string;
}

/** A Flex service the app talks to: the service config file's `host` and `secret`. */
export interface FlexServiceSpec {
  /** Base URL, no trailing slash: `http://localhost:10001`. */
  readonly host: string;
  readonly secret: string;
}

/**
 * An app's Business Logic, after the environment file was read and validated. All maps are
 * null-prototype objects keyed by collection, hook or endpoint name; read them with Object.hasOwn.
 */
export interface BusinessLogicConfig {
  /** `commonCode` scripts, in file order; prepended to every internal function. */
  readonly commonCode: ReadonlyArray<{ readonly name: string; readonly code: string }>;
  readonly collectionHooks: Readonly<Record<string, Readonly<Partial<Record<CollectionHookName, FunctionSpec>>>>>;
  readonly customEndpoints: Readonly<Record<string, CustomEndpointSpec>>;
  readonly externalCollections: Readonly<Record<string, ExternalCollectionSpec>>;
  readonly flexServices: Readonly<Record<string, FlexServiceSpec>>;
}

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
