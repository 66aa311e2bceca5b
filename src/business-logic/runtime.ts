import type { AppDefinition } from '../config';
import { errors } from '../domain/errors';
import { buildAppFunctions, type AppFunctions, type FunctionFactory } from './app-functions';
import { HookPipeline } from './pipeline';
import type { BlRequest, BlResponse } from './types';

/**
 * Every app's Business Logic, built once at start: the collection hook pipeline and the custom
 * endpoints. The routes and the scheduler reach Business Logic only through this object.
 */
export class BusinessLogicRuntime {
  readonly hooks: HookPipeline;
  private readonly functions: Map<string, AppFunctions>;

  constructor(apps: readonly AppDefinition[], factory: FunctionFactory) {
    this.functions = buildAppFunctions(apps, factory);
    this.hooks = new HookPipeline((appKey) => this.functions.get(appKey));
  }

  /** Whether the app has this custom endpoint. */
  hasEndpoint(appKey: string, name: string): boolean {
    return this.functions.get(appKey)?.endpoints.has(name) ?? false;
  }

  /**
   * Runs a custom endpoint (`function onRequest(request, response, modules)`): the request body is
   * its arguments, `response.body` the answer. Throws 404 EndpointDoesNotExist for an unknown name,
   * and whatever the function throws (550 BL errors, a Flex service's error).
   */
  async runEndpoint(appKey: string, name: string, request: BlRequest): Promise<BlResponse> {
    const endpoint = this.functions.get(appKey)?.endpoints.get(name);
    if (!endpoint) throw errors.endpointDoesNotExist(`This app has no custom endpoint named ${name.slice(0, 100)}.`);
    const outcome = await endpoint.fn.run({
      appKey,
      functionName: 'onRequest',
      stage: 'customEndpoint',
      request: { ...request, endpoint: name },
      response: { status: 200, headers: {}, body: {} },
      tempObjectStore: {},
    });
    const status = Number(outcome.response.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw errors.blRuntimeError(`The endpoint ${name.slice(0, 100)} set response.status to ${String(outcome.response.status).slice(0, 40)}, which is not an HTTP status.`);
    }
    return { status, headers: outcome.response.headers ?? {}, body: outcome.response.body };
  }
}
