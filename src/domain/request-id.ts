/**
 * Request ids: the X-Kinvey-Request-Id kinbase answers with and passes on to Business Logic and
 * Flex services. A client may choose its own (the Swift SDK does), but only a short, plain one: it
 * ends up in response headers, log lines and other services' headers and logs.
 */
import { randomUUID } from 'node:crypto';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `given` when it is 1-128 letters, digits, `.`, `_`, `:` or `-`, else a fresh random id (32 hex digits). */
export function requestIdFrom(given: string | undefined): string {
  return given !== undefined && SAFE_REQUEST_ID.test(given) ? given : randomUUID().replace(/-/g, '');
}
