import type { AppDefinition } from '../config/load-config';
import { errors } from '../domain/errors';
import { MemorySharedState } from '../domain/memory-shared-state';
import type { SharedLogs } from '../domain/ports';
import { buildAppFunctions, type AppFunctions, type FunctionFactory } from './app-functions';
import { checkResponse, HookPipeline } from './hooks/hook-pipeline';
import type { FlexDataSource } from './flex/flex-data-source';
import { RecentBusinessLogicErrors, recordingFactory } from './recent-errors';
import type { BlRequest, BlResponse, CustomEndpointSpec } from './types';

/** The caller scheduled runs are made as (no client's caller key looks like it: see callerOf). */
const SCHEDULER_CALLER = '(scheduler)';

/**
 * Every app's Business Logic, built once at start: the collection hook pipeline and the custom
 * endpoints. The routes and the scheduler reach Business Logic only through this object.
 */
export class BusinessLogicRuntime {
  readonly hooks: HookPipeline;
  /** The last failures of every app's hooks and endpoints, in the store's shared logs (every instance's). */
  readonly recentErrors: RecentBusinessLogicErrors;
  private readonly functions: Map<string, AppFunctions>;

  constructor(
    apps: readonly AppDefinition[],
    factory: FunctionFactory,
    options: { clock?: () => Date; logs?: SharedLogs; onLostError?: (err: unknown) => void } = {},
  ) {
    this.recentErrors = new RecentBusinessLogicErrors(
      options.logs ?? new MemorySharedState(options.clock ? { clock: options.clock } : {}),
      options.clock,
      options.onLostError,
    );
    // Every function records its failures, whoever built the factory.
    this.functions = buildAppFunctions(apps, recordingFactory(factory, this.recentErrors));
    this.hooks = new HookPipeline((appKey) => this.functions.get(appKey));
  }

  /** The Flex service object behind an external collection, or undefined for a stored collection. */
  externalCollection(appKey: string, collection: string): FlexDataSource | undefined {
    return this.functions.get(appKey)?.externalCollections.get(collection);
  }

  /** Scheduled endpoints of every app, for the scheduler. */
  schedules(): Array<{ appKey: string; endpoint: string; spec: CustomEndpointSpec }> {
    const out: Array<{ appKey: string; endpoint: string; spec: CustomEndpointSpec }> = [];
    for (const [appKey, functions] of this.functions) {
      for (const [endpoint, { spec }] of functions.endpoints) if (spec.schedule) out.push({ appKey, endpoint, spec });
    }
    return out;
  }

  /**
   * One scheduled run of a custom endpoint: as Kinvey did, with the app's own (master) identity, an
   * empty body and `request.params.scheduledAt` telling which tick this is.
   */
  async runScheduled(appKey: string, endpoint: string, tick: Date): Promise<BlResponse> {
    const request: BlRequest = {
      method: 'POST',
      headers: {},
      body: {},
      params: { scheduledAt: tick.toISOString() },
      username: appKey,
      userId: '',
      appKey,
    };
    return this.runEndpoint(appKey, endpoint, request, SCHEDULER_CALLER);
  }

  /** Whether the app has this custom endpoint. */
  hasEndpoint(appKey: string, name: string): boolean {
    return this.functions.get(appKey)?.endpoints.has(name) ?? false;
  }

  /**
   * Runs a custom endpoint (`function onRequest(request, response, modules)`): the request body is
   * its arguments, `response.body` the answer. Throws 404 EndpointDoesNotExist for an unknown name,
   * and whatever the function throws (550 BL errors, a Flex service's error). `caller` is who asks,
   * for sharing the app's isolates fairly (BlInvocation.caller).
   */
  async runEndpoint(appKey: string, name: string, request: BlRequest, caller: string): Promise<BlResponse> {
    const endpoint = this.functions.get(appKey)?.endpoints.get(name);
    if (!endpoint) throw errors.endpointDoesNotExist(`This app has no custom endpoint named ${name.slice(0, 100)}.`);
    const outcome = await endpoint.fn.run({
      appKey,
      caller,
      functionName: 'onRequest',
      stage: 'customEndpoint',
      request: { ...request, endpoint: name },
      response: { status: 200, headers: {}, body: {} },
      tempObjectStore: {},
    });
    return checkResponse(outcome.response, `The endpoint ${name.slice(0, 100)}`);
  }
}
