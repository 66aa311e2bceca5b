/**
 * An app's Business Logic as its definition carries it: what kinvey-cli's environment file
 * configures (hooks, endpoints, external collections, Flex services), after it was read and
 * validated. Part of the domain because the app definition holds it; business-logic/types.ts
 * re-exports these names for the code that runs them.
 */

/** Collection hooks kinbase runs, by Kinvey's names (kinvey-protocol.md §7). */
export const COLLECTION_HOOKS = [
  'onPreSave',
  'onPreInsert',
  'onPreUpdate',
  'onPreFetch',
  'onPreDelete',
  'onPostSave',
  'onPostInsert',
  'onPostUpdate',
  'onPostFetch',
  'onPostDelete',
  'onPreLogin',
  'onPostLogin',
  'onLoginFailure',
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
