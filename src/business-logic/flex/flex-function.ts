/**
 * A hook or custom endpoint whose code lives in a Flex service: `POST /_flexFunctions/:handlerName`
 * as kinvey-code-task-runner's receiver parses it, and its answer mapped back to a BlOutcome.
 */
import { errors } from '../../domain/errors';
import type { BlInvocation, BlOutcome, BlRequest, BlResponse, BusinessLogicFunction, FlexServiceSpec } from '../types';
import { flexError, flexHeaders, pathSegment, type FlexApp, type FlexClient } from './flex-client';

/** Which handler of which service runs; `origin` names the configuration entry, for messages. */
export interface FlexFunctionTarget {
  readonly service: FlexServiceSpec;
  /** The service's key in the app's flexServices. */
  readonly serviceName: string;
  readonly handlerName: string;
  readonly origin: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isEmptyObject = (value: unknown): boolean => isRecord(value) && Object.keys(value).length === 0;

/** The receiver takes `body.body || <the whole task body>`, so an absent body must go as `{}`. */
function wireBody(body: unknown): unknown {
  return body === undefined || body === null || body === '' ? {} : body;
}

/**
 * The task body the receiver's mapPostToElements/generateBaseTask read. The current response goes
 * in the body for post hooks only (the receiver also reads X-Kinvey-Response-* headers, but a
 * response body in a header would hit header size limits).
 */
function taskBody(invocation: BlInvocation): Record<string, unknown> {
  const { request, response, stage } = invocation;
  const task: Record<string, unknown> = {
    body: wireBody(request.body),
    hookType: stage,
    method: request.method,
    // The SDK hands a handler `context.query` only when the query arrives as an object.
    query: request.params,
    objectName: request.collectionName ?? request.endpoint ?? '',
    entityId: request.entityId,
    tempObjectStore: invocation.tempObjectStore,
  };
  if (stage === 'post')
    task.response = { status: response.status, headers: response.headers, body: wireBody(response.body) };
  return task;
}

/** The SDK's setQuery stringifies `query` and `sort`; other values may come back as numbers. */
function paramsFrom(query: unknown, fallback: Record<string, string>): Record<string, string> {
  if (!isRecord(query)) return fallback;
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    params[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return params;
}

function stringHeaders(value: unknown, fallback: Record<string, string>): Record<string, string> {
  if (!isRecord(value)) return fallback;
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) if (typeof v === 'string') headers[name.toLowerCase()] = v;
  return headers;
}

/** Handlers may set values through modules.tempObjectStore; they come back in `request`. */
function mergeTempObjectStore(target: Record<string, unknown>, returned: unknown): void {
  if (!isRecord(returned)) return;
  for (const [key, value] of Object.entries(returned)) {
    // JSON.parse makes "__proto__" an own key; assigning it would replace the store's prototype.
    if (key !== '__proto__') target[key] = value;
  }
}

/**
 * Maps a 2xx answer `{request, response}` to the outcome. Pre hooks may change the request (body and
 * query) and, with done(), answer in the backend's place; post hooks change the response body;
 * endpoints answer. A post hook's status stays the backend's unless the handler set one other than
 * the SDK's default 200 (the wire cannot tell `ok()` from no call).
 */
function outcomeFrom(
  invocation: BlInvocation,
  status: number,
  headers: Record<string, string>,
  body: Record<string, unknown>,
): BlOutcome {
  const answeredRequest = isRecord(body.request) ? body.request : {};
  const answeredResponse = isRecord(body.response) ? body.response : {};
  const continueHeader = headers['x-kinvey-request-continue'];
  // The HTTP receiver sets the header only on some paths; the SDK always records it in the body.
  const goOn = continueHeader !== undefined ? continueHeader === 'true' : answeredResponse.continue === true;
  const stage = invocation.stage;

  let request: BlRequest = invocation.request;
  if (stage === 'pre') {
    const original = invocation.request.body;
    const returned = answeredRequest.body;
    // `{}` back for a request that had no body is the placeholder wireBody sent, not a change.
    const keepOriginal =
      returned === undefined || ((original === undefined || original === null) && isEmptyObject(returned));
    request = {
      ...invocation.request,
      body: keepOriginal ? original : returned,
      params: paramsFrom(answeredRequest.query, invocation.request.params),
    };
  }
  mergeTempObjectStore(invocation.tempObjectStore, answeredRequest.tempObjectStore);

  let response: BlResponse = invocation.response;
  const answeredBody = 'body' in answeredResponse ? answeredResponse.body : undefined;
  if (stage === 'post') {
    response = {
      status: status === 200 ? invocation.response.status : status,
      headers: stringHeaders(answeredResponse.headers, invocation.response.headers),
      body: answeredBody === undefined ? invocation.response.body : answeredBody,
    };
  } else if (stage === 'customEndpoint' || !goOn) {
    response = {
      status,
      headers: stringHeaders(answeredResponse.headers, invocation.response.headers),
      body: answeredBody ?? {},
    };
  }
  return { request, response, continue: goOn };
}

/**
 * A BusinessLogicFunction that runs `target.handlerName` in a Flex service. `run` resolves with the
 * outcome of a 2xx answer; it rejects with the Kinvey error the service answered (its status, name,
 * description and debug, e.g. 400 BadRequest, 550 FlexRuntimeError), with 550 BLTimeoutError past
 * the client's time limit, or with 550 BLInternalError when the service is unreachable, rejects the
 * shared secret or answers something that is not a Flex answer. It never throws anything else.
 */
export function flexFunction(target: FlexFunctionTarget, app: FlexApp, client: FlexClient): BusinessLogicFunction {
  return {
    async run(invocation: BlInvocation): Promise<BlOutcome> {
      const { request } = invocation;
      const answer = await client.request(target.service, target.serviceName, {
        method: 'POST',
        path: `/_flexFunctions/${pathSegment(target.handlerName)}`,
        headers: flexHeaders(target.service, app, {
          username: request.username,
          userId: request.userId,
          headers: request.headers,
        }),
        body: taskBody(invocation),
      });
      const body = answer.body;
      if (!isRecord(body)) {
        throw errors.blInternalError(
          `${target.origin}: Flex service "${target.serviceName}" answered ${answer.status} without a {request, response} body`,
        );
      }
      if (answer.status >= 400) {
        const response = isRecord(body.response) ? body.response : {};
        // Function errors come inside `response.body`; a body that is itself the error (a receiver
        // fault, or a service in front of a proxy) is read too.
        throw flexError(target.serviceName, answer.status, 'body' in response ? response.body : body);
      }
      if (answer.status < 200 || answer.status > 299) {
        throw errors.blInternalError(
          `${target.origin}: Flex service "${target.serviceName}" answered ${answer.status}`,
        );
      }
      return outcomeFrom(invocation, answer.status, answer.headers, body);
    },
  };
}
