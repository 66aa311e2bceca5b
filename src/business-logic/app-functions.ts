import type { AppDefinition } from '../config/load-config';
import type { FlexDataSource } from './flex/flex-data-source';
import type {
  BusinessLogicConfig,
  BusinessLogicFunction,
  CollectionHookName,
  CustomEndpointSpec,
  ExternalCollectionSpec,
  FunctionSpec,
} from './types';

/** Turns configured Business Logic into something runnable: the sandbox or the Flex client. */
export interface FunctionFactory {
  internal(
    app: AppDefinition,
    spec: Extract<FunctionSpec, { type: 'internal' }>,
    commonCode: BusinessLogicConfig['commonCode'],
  ): BusinessLogicFunction;
  external(app: AppDefinition, spec: Extract<FunctionSpec, { type: 'external' }>): BusinessLogicFunction;
  /** The Flex service object behind an external collection. */
  dataSource(app: AppDefinition, spec: ExternalCollectionSpec): FlexDataSource;
}

/** An app's runnable hooks and endpoints, looked up by name (Maps: names are client-chosen paths). */
export interface AppFunctions {
  readonly hooks: ReadonlyMap<string, ReadonlyMap<CollectionHookName, BusinessLogicFunction>>;
  readonly endpoints: ReadonlyMap<string, { readonly fn: BusinessLogicFunction; readonly spec: CustomEndpointSpec }>;
  readonly externalCollections: ReadonlyMap<string, FlexDataSource>;
}

/**
 * Builds the runnable functions of every app with Business Logic, once at start. Apps without it
 * are absent from the map, so their requests take the no-hook path.
 */
export function buildAppFunctions(apps: readonly AppDefinition[], factory: FunctionFactory): Map<string, AppFunctions> {
  const byApp = new Map<string, AppFunctions>();
  for (const app of apps) {
    const config = app.businessLogic;
    if (!config) continue;
    const make = (spec: FunctionSpec): BusinessLogicFunction =>
      spec.type === 'internal' ? factory.internal(app, spec, config.commonCode) : factory.external(app, spec);

    const hooks = new Map<string, Map<CollectionHookName, BusinessLogicFunction>>();
    for (const [collection, byName] of Object.entries(config.collectionHooks)) {
      const forCollection = new Map<CollectionHookName, BusinessLogicFunction>();
      for (const [name, spec] of Object.entries(byName) as Array<[CollectionHookName, FunctionSpec | undefined]>) {
        if (spec) forCollection.set(name, make(spec));
      }
      if (forCollection.size > 0) hooks.set(collection, forCollection);
    }
    const endpoints = new Map<string, { fn: BusinessLogicFunction; spec: CustomEndpointSpec }>();
    for (const [name, spec] of Object.entries(config.customEndpoints))
      endpoints.set(name, { fn: make(spec.function), spec });
    const externalCollections = new Map<string, FlexDataSource>();
    for (const [name, spec] of Object.entries(config.externalCollections))
      externalCollections.set(name, factory.dataSource(app, spec));
    byApp.set(app.appKey, { hooks, endpoints, externalCollections });
  }
  return byApp;
}

/** Whether the app has any internal (sandboxed) hook or endpoint. */
export function usesInternalCode(app: AppDefinition): boolean {
  const config = app.businessLogic;
  if (!config) return false;
  const hooks = Object.values(config.collectionHooks).flatMap((byName) => Object.values(byName));
  return [...hooks, ...Object.values(config.customEndpoints).map((e) => e.function)].some(
    (spec) => spec?.type === 'internal',
  );
}

/** Told about every finished Business Logic call (the metrics): hook or endpoint, which one, and how it ended. */
export type CallObserver = (kind: 'hook' | 'endpoint', fn: string, outcome: 'ok' | 'error') => void;

/**
 * The same factory, whose functions report each call to `observe`: hooks by hook name, endpoints
 * by their configured name (both bounded by the app's configuration, never by client input).
 */
export function observedFactory(factory: FunctionFactory, observe: CallObserver): FunctionFactory {
  const observed = (fn: BusinessLogicFunction): BusinessLogicFunction => ({
    run: async (invocation) => {
      const kind = invocation.stage === 'customEndpoint' ? 'endpoint' : 'hook';
      const name =
        kind === 'endpoint' ? (invocation.request.endpoint ?? invocation.functionName) : invocation.functionName;
      try {
        const outcome = await fn.run(invocation);
        observe(kind, name, 'ok');
        return outcome;
      } catch (err) {
        observe(kind, name, 'error');
        throw err;
      }
    },
  });
  return {
    internal: (app, spec, commonCode) => observed(factory.internal(app, spec, commonCode)),
    external: (app, spec) => observed(factory.external(app, spec)),
    dataSource: (app, spec) => factory.dataSource(app, spec),
  };
}
