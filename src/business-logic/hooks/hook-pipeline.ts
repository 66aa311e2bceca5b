import { isKinveyError, errors } from '../../domain/errors';
import { isReservedKey } from '../../domain/access/safe-keys';
import type { AppFunctions } from '../app-functions';
import { carryCustomRequestProperties } from './custom-request-properties';
import type { BlRequest, BlResponse, BusinessLogicFunction, CollectionHookName } from '../types';

/** The store action a hook wraps, in Kinvey's terms (kinvey-protocol.md §7). */
export type HookOperation = 'fetch' | 'insert' | 'update' | 'delete' | 'login';

// Save hooks run for inserts and updates: the generic one first before the action, last after it.
const PRE_HOOKS: Readonly<Record<HookOperation, readonly CollectionHookName[]>> = {
  fetch: ['onPreFetch'],
  insert: ['onPreSave', 'onPreInsert'],
  update: ['onPreSave', 'onPreUpdate'],
  delete: ['onPreDelete'],
  login: ['onPreLogin'],
};
const POST_HOOKS: Readonly<Record<HookOperation, readonly CollectionHookName[]>> = {
  fetch: ['onPostFetch'],
  insert: ['onPostInsert', 'onPostSave'],
  update: ['onPostUpdate', 'onPostSave'],
  delete: ['onPostDelete'],
  login: ['onPostLogin'],
};

/** What a pre hook may change before the action runs: the body and the URL parameters. */
export interface ActionInput {
  body: unknown;
  /** The request's URL parameters (as Express parsed them), or the strings a pre hook set. */
  params: Record<string, unknown>;
}

export interface HookedCall {
  readonly appKey: string;
  readonly collection: string;
  readonly operation: HookOperation;
  /** Who asks, for sharing the app's isolates fairly (BlInvocation.caller). */
  readonly caller: string;
  /** Builds the hooks' `request`; only called when a hook runs. */
  readonly request: () => BlRequest;
  /** Master credentials sent X-Kinvey-Skip-Business-Logic: true (ignored for everyone else). */
  readonly skip: boolean;
  /** The action's body as plain JSON, the way the client would get it (what post hooks see). */
  readonly plain?: (body: unknown) => unknown;
}

/**
 * Kinvey's collection hook pipeline: pre hooks, the store action, post hooks. A pre hook that
 * completes answers for the action (which then never runs); an error of the action skips the post
 * hooks; a post hook that completes ends the chain. With no hook configured the action runs alone.
 */
export class HookPipeline {
  constructor(private readonly functionsOf: (appKey: string) => AppFunctions | undefined) {}

  /** Whether any hook runs for this call (cheap; routes use it to skip building the hooks' view). */
  hooksFor(appKey: string, collection: string, operation: HookOperation): { pre: Hook[]; post: Hook[] } {
    const functions = this.functionsOf(appKey);
    if (!functions) return NONE;
    return {
      pre: pick(functions, collection, PRE_HOOKS[operation]),
      post: pick(functions, collection, POST_HOOKS[operation]),
    };
  }

  /**
   * Runs `action` inside the collection's hooks. `action` gets the (possibly hook-changed) body and
   * parameters and answers the store's response. Throws what a hook or the action throws.
   */
  async run(
    call: HookedCall,
    input: ActionInput,
    action: (input: ActionInput) => Promise<BlResponse>,
  ): Promise<BlResponse> {
    const { pre, post } = call.skip ? NONE : this.hooksFor(call.appKey, call.collection, call.operation);
    if (pre.length === 0 && post.length === 0) return action(input);

    let request = call.request();
    const tempObjectStore: Record<string, unknown> = {};
    let response: BlResponse = { status: 200, headers: {}, body: {} };
    for (const hook of pre) {
      const outcome = await hook.fn.run({
        appKey: call.appKey,
        caller: call.caller,
        functionName: hook.name,
        stage: 'pre',
        request,
        response,
        tempObjectStore,
      });
      request = keepIdentity(request, outcome.request, hook.name);
      response = outcome.response;
      if (!outcome.continue) return checkResponse(response, hook.name);
    }
    response = await action({ body: request.body, params: request.params });
    if (post.length > 0 && call.plain) response = { ...response, body: call.plain(response.body) };
    for (const hook of post) {
      const outcome = await hook.fn.run({
        appKey: call.appKey,
        caller: call.caller,
        functionName: hook.name,
        stage: 'post',
        request,
        response,
        tempObjectStore,
      });
      request = carryCustomRequestProperties(request, outcome.request, hook.name);
      response = checkResponse(outcome.response, hook.name);
      if (!outcome.continue) break;
    }
    return response;
  }

  /**
   * Runs the user collection's `onLoginFailure` hook after a failed login, then rethrows the login's
   * error: the hook may log or record, never turn a failed login into a success.
   */
  async loginFailed(call: HookedCall, error: unknown): Promise<never> {
    const functions = call.skip ? undefined : this.functionsOf(call.appKey);
    const hook = functions ? pick(functions, call.collection, ['onLoginFailure'])[0] : undefined;
    if (hook && isKinveyError(error)) {
      const response: BlResponse = { status: error.status, headers: {}, body: error.toJSON() };
      await hook.fn.run({
        appKey: call.appKey,
        caller: call.caller,
        functionName: hook.name,
        stage: 'post',
        request: call.request(),
        response,
        tempObjectStore: {},
      });
    }
    throw error;
  }
}

export interface Hook {
  readonly name: CollectionHookName;
  readonly fn: BusinessLogicFunction;
}

const NONE: { pre: Hook[]; post: Hook[] } = { pre: [], post: [] };

function pick(functions: AppFunctions, collection: string, names: readonly CollectionHookName[]): Hook[] {
  const hooks = functions.hooks.get(collection);
  if (!hooks) return [];
  const picked: Hook[] = [];
  for (const name of names) {
    const fn = hooks.get(name);
    if (fn) picked.push({ name, fn });
  }
  return picked;
}

/**
 * A hook may rewrite the body, the URL parameters and its custom request properties, never who is
 * asking or what is addressed: identity fields and every other header (Authorization, the request
 * id, the API and app versions) always come from the server's own view of the request.
 */
function keepIdentity(original: BlRequest, changed: BlRequest, who: string): BlRequest {
  const params =
    changed.params && typeof changed.params === 'object' && !Array.isArray(changed.params)
      ? stringParams(changed.params)
      : original.params;
  return carryCustomRequestProperties({ ...original, body: changed.body, params }, changed, who);
}

function stringParams(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (isReservedKey(key) || value === undefined || value === null) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** A function's answer must be sendable: a real HTTP status (BLRuntimeError naming `who` otherwise). */
export function checkResponse(response: BlResponse, who: string): BlResponse {
  const status = Number(response.status);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw errors.blRuntimeError(
      `${who} set response.status to ${String(response.status).slice(0, 40)}, which is not an HTTP status.`,
    );
  }
  return { status, headers: response.headers ?? {}, body: response.body };
}
