/**
 * Types for the isolate scripts (bootstrap.js, modules.js, utils.js), read only by this folder's
 * tsconfig.json: the two bridge callbacks the wrapper function receives (see bootstrap.js) and
 * the shapes the files pass between them. Not part of the host program, whose globals differ.
 */

/** Posts a request of call `callId` to the host; the answer comes back through `reply`. */
declare function hostCall(callId: number, requestId: number, op: string, jsonText: string): void;
/** Ends call `callId`, which finished asynchronously, with its outcome as JSON. */
declare function hostNotify(callId: number, outcomeText: string): void;

/** What `entryPoints()` returns to the host; every argument and result is a string or number. */
interface IsolateEntryPoints {
  define(key: string, factory: () => Record<string, unknown>): string;
  run(callId: number, key: string, functionName: string, payloadText: string): string;
  reply(callId: number, requestId: number, answer: string): void;
  attach(): boolean;
}

/** The request a hook receives (parsed from the host's payload). */
interface HookRequest {
  body?: unknown;
  params?: unknown;
  headers?: Record<string, string>;
  username?: string;
  userId?: string;
  [key: string]: unknown;
}

/** The libraries lodash, moment and async define as globals of the isolate when they load. */
/* eslint-disable no-var -- only a var declaration makes a property of globalThis, as these are */
declare var _: unknown;
declare var moment: unknown;
declare var async: unknown;

/** A thrown value as the host receives it. */
interface ErrorInfo {
  name: string;
  message: string;
  stack: string;
}

/** What the host sends for a call (sandbox.ts): the hook's request, response and temp store. */
interface Payload {
  request: HookRequest;
  response: { status?: unknown; headers?: Record<string, unknown>; body?: unknown };
  tempObjectStore?: Record<string, unknown>;
}

/** The `response` argument of a hook. */
interface HookResponse {
  status?: unknown;
  headers: Record<string, unknown>;
  body?: unknown;
  continue?: () => void;
  complete?: (status?: unknown) => void;
  error?: (message: unknown) => void;
}
