/**
 * Request ids: the X-Kinvey-Request-Id kinbase answers with and passes on to Business Logic and
 * Flex services. A client may choose its own (the Swift SDK does), but only a short, plain one: it
 * ends up in response headers, log lines and other services' headers and logs.
 */
import { randomUUID } from 'node:crypto';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whether `id` may be used as given: 1-128 letters, digits, `.`, `_`, `:` or `-`. */
export function isSafeRequestId(id: string | undefined): id is string {
  return id !== undefined && SAFE_REQUEST_ID.test(id);
}

/** `given` when it is a safe request id, else a fresh random one (32 hex digits). */
export function requestIdFrom(given: string | undefined): string {
  return isSafeRequestId(given) ? given : randomUUID().replace(/-/g, '');
}
