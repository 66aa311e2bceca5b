import type { Request, Response } from 'express';
import type { ActionInput, HookedCall, HookOperation } from '../business-logic/hooks/hook-pipeline';
import type { BlRequest, BlResponse } from '../business-logic/types';
import { errors } from '../domain/errors';
import type { Principal } from '../domain/access/principal';
import { plainJsonOf } from './presenters/expansion-json';
import { localsOf, principalOf } from './middleware/locals';

/** Response headers a hook may not set: the server owns framing, security and CORS. */
const SERVER_OWNED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'content-encoding',
  'set-cookie',
  'x-kinvey-request-id',
  'x-kinvey-api-version',
  'content-type',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]{0,4096}$/;

/**
 * The hooks' `request`: the client's headers (lower-case), body, URL parameters and who asks. Its
 * `x-kinvey-request-id` is the id the response carries (the client's when it is a safe one, else
 * kinbase's own, see requestContext), so hooks and Flex services never see a client's raw choice.
 */
export function blRequestOf(req: Request, res: Response, target: BlTarget): BlRequest {
  return blRequestAs(req, principalOf(res), target);
}

/** What a hook or endpoint addresses. */
export interface BlTarget {
  collectionName?: string;
  entityId?: string;
  endpoint?: string;
}

/** The hooks' `request` for a principal other than the request's own (the login pipeline's Basic proof runs as the app). */
export function blRequestAs(req: Request, principal: Principal, target: BlTarget): BlRequest {
  const requestId = req.res ? localsOf(req.res).requestId : undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (typeof requestId === 'string') headers['x-kinvey-request-id'] = requestId;
  // Strings only: a repeated parameter is not something a hook can pass back unchanged.
  const params = stringParams(req.query);
  return {
    method: req.method,
    headers,
    body: req.body ?? {},
    params,
    username: principal.kind === 'user' ? principal.username : principal.appKey,
    userId: principal.kind === 'user' ? principal.userId : '',
    appKey: principal.appKey,
    ...target,
  };
}

/**
 * Who asks, as the app's Business Logic isolates are shared fairly between callers: each user,
 * master, and app credentials per client address (everyone holding the app secret is one party
 * otherwise, and it ships in every client). The prefixes keep the kinds apart; kinbase's own
 * callers (warm-up, scheduler) are in parentheses, which none of these start with.
 */
export function callerOf(req: Request, res: Response): string {
  return callerAs(req, principalOf(res));
}

/** callerOf for a principal other than the request's own (the login pipeline's Basic proof runs as the app). */
export function callerAs(req: Request, principal: Principal): string {
  if (principal.kind === 'user') return `user:${principal.userId}`;
  if (principal.kind === 'master') return 'master';
  return `app:${req.ip ?? req.socket.remoteAddress ?? ''}`;
}

/** `X-Kinvey-Skip-Business-Logic: true` counts only with master credentials (kinvey-protocol.md §2). */
export function skipsBusinessLogic(req: Request, res: Response): boolean {
  return principalOf(res).kind === 'master' && req.get('x-kinvey-skip-business-logic')?.trim().toLowerCase() === 'true';
}

/** The pipeline call of a route: who, which collection, which operation. */
export function hookedCall(
  req: Request,
  res: Response,
  collection: string,
  operation: HookOperation,
  entityId?: string,
): HookedCall {
  const principal = principalOf(res);
  return {
    appKey: principal.appKey,
    collection,
    operation,
    caller: callerOf(req, res),
    skip: skipsBusinessLogic(req, res),
    plain: (body) => plainJsonOf(res, body),
    request: () =>
      blRequestOf(req, res, { collectionName: collection, ...(entityId === undefined ? {} : { entityId }) }),
  };
}

/** URL parameters that are single strings (repeated ones, which Express gives as arrays, are left out). */
export function stringParams(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) if (typeof value === 'string') out[name] = value;
  return out;
}

/** A write's body, or 400 IncompleteRequestBody when the request had none. */
export function requireBody(body: unknown): unknown {
  if (body === undefined)
    throw errors.incompleteRequestBody('The request needs a JSON body (send Content-Type: application/json).');
  return body;
}

/** What a route's action works on when no hook changed it: the parsed body and URL parameters. */
export function inputOf(req: Request): ActionInput {
  return { body: req.body, params: req.query };
}

/** The store's answer, before post hooks: 200 unless the action says otherwise. */
export function ok(body: unknown, status = 200): BlResponse {
  return { status, headers: {}, body };
}

/**
 * Sends what the pipeline answered. Headers a hook set are sent when they are well-formed and not
 * the server's own; a body of `undefined` sends an empty JSON object, as Kinvey's complete() did.
 */
export function sendBlResponse(res: Response, response: BlResponse): void {
  res.status(response.status);
  if (response.headers && typeof response.headers === 'object') {
    for (const [name, value] of Object.entries(response.headers)) {
      if (!HEADER_NAME.test(name) || SERVER_OWNED_HEADERS.has(name.toLowerCase())) continue;
      const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
      if (text !== null && HEADER_VALUE.test(text)) res.setHeader(name, text);
    }
  }
  if (response.status === 204) return void res.end();
  res.json(response.body === undefined ? {} : response.body);
}
