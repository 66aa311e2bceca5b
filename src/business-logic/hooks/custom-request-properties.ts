/**
 * Kinvey's custom request properties: a JSON object in the `X-Kinvey-Custom-Request-Properties`
 * request header that `modules.requestContext` reads, and that a hook's setCustomRequestProperty
 * writes for the hooks after it in the same request (pre to pre, pre to post, post to post). It is
 * the one request header a hook may change for the rest of the pipeline.
 */
import { errors } from '../../domain/errors';
import type { BlRequest } from '../types';

export const CUSTOM_REQUEST_PROPERTIES_HEADER = 'x-kinvey-custom-request-properties';

/**
 * Kinvey's SDKs refuse properties of this many bytes or more (kinvey-protocol.md §3.7); a hook may
 * not grow them past what a client could send, as every later hook and Flex call carries them.
 */
export const MAX_CUSTOM_REQUEST_PROPERTIES_BYTES = 2000;

/**
 * `current` with the custom request properties `changed` (what hook `who` answered as its request)
 * holds; every other header stays `current`'s. A header the hook did not change passes unchecked
 * (the client's own may be anything); one it changed must be a JSON object under
 * MAX_CUSTOM_REQUEST_PROPERTIES_BYTES, else 550 BLRuntimeError naming the hook. A removed header
 * stays removed.
 */
export function carryCustomRequestProperties(current: BlRequest, changed: BlRequest, who: string): BlRequest {
  const before = propertiesOf(current.headers);
  const after = propertiesOf(changed.headers);
  if (after === before) return current;
  const headers = Object.fromEntries(
    Object.entries(current.headers).filter(([name]) => name !== CUSTOM_REQUEST_PROPERTIES_HEADER),
  );
  if (after !== undefined) headers[CUSTOM_REQUEST_PROPERTIES_HEADER] = checked(after, who);
  return { ...current, headers };
}

/** The header's value, read only as an own string property (a hook's answer is untrusted). */
function propertiesOf(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (!Object.prototype.hasOwnProperty.call(headers, CUSTOM_REQUEST_PROPERTIES_HEADER)) return undefined;
  const value: unknown = (headers as Record<string, unknown>)[CUSTOM_REQUEST_PROPERTIES_HEADER];
  return typeof value === 'string' ? value : undefined;
}

function checked(value: string, who: string): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes >= MAX_CUSTOM_REQUEST_PROPERTIES_BYTES) {
    throw errors.blRuntimeError(
      `${who} set custom request properties of ${bytes} bytes; they must stay under ${MAX_CUSTOM_REQUEST_PROPERTIES_BYTES} bytes.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.blRuntimeError(`${who} set X-Kinvey-Custom-Request-Properties to something other than a JSON object.`);
  }
  return value;
}
