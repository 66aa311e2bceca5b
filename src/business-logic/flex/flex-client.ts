/**
 * The HTTP side of kinbase's client for Kinvey FlexServices: one request to one service, with a
 * time limit and a size bound, failing only with KinveyErrors. Also the two wire pieces every Flex
 * call shares: the headers kinvey-code-task-runner's receiver reads and the mapping of a Flex error
 * answer to the error the client sees.
 *
 * Built on node:http/https rather than fetch: the socket error codes (ECONNREFUSED, ...) arrive
 * as-is, the body can be cut off at the byte bound while it streams, and the keep-alive agent is an
 * object this client owns and can destroy, so closing the client leaves no sockets behind.
 */
import http from 'node:http';
import https from 'node:https';
import { errors, KinveyError } from '../../domain/errors';
import { requestIdFrom } from '../../domain/request-id';
import type { FlexServiceSpec } from '../types';

export interface FlexClientOptions {
  /** Per-call limit from sending to the last body byte; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Largest answer body accepted; default 10 MB. */
  readonly maxResponseBytes?: number;
}

export interface FlexCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Already-encoded path starting with `/`: `/_flexFunctions/echo`. */
  readonly path: string;
  /** URL query parameters, sent as given. */
  readonly query?: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as JSON when present. */
  readonly body?: unknown;
}

export interface FlexAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body. */
  readonly body: unknown;
}

/** The app a Flex call is made for; its service's modules call back `${baasUrl}/appdata/${appKey}`. */
export interface FlexApp {
  readonly appKey: string;
  readonly appSecret: string;
  readonly masterSecret: string;
  readonly baasUrl: string;
}

/** Who made the client request a Flex call serves, and the request's headers (lower-case names). */
export interface FlexCaller {
  readonly username: string;
  readonly userId: string;
  readonly headers: Readonly<Record<string, string>>;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/**
 * Calls Flex services over HTTP(S) with keep-alive. `request` resolves with any HTTP answer that is
 * JSON (error statuses included: mapping them is the caller's job) and rejects only with a 550
 * KinveyError: BLTimeoutError past the time limit, BLInternalError when the service is unreachable,
 * answers something not JSON or too big. Messages name the service, never its secret.
 */
export class FlexClient {
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  // Idle sockets go after 4 s, before the receiver's (Node's default 5 s) keep-alive timeout.
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: 4000 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, timeout: 4000 });

  constructor(options: FlexClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Sends one call to `service` (`serviceName` is its key in the app's flexServices, for messages). */
  request(service: FlexServiceSpec, serviceName: string, call: FlexCall): Promise<FlexAnswer> {
    let url: URL;
    try {
      url = new URL(service.host);
      // The host may carry a path prefix; the call's path goes below it.
      url.pathname = url.pathname.replace(/\/+$/, '') + call.path;
      url.search = call.query ? new URLSearchParams(call.query).toString() : '';
    } catch {
      return Promise.reject(errors.blInternalError(`Flex service "${serviceName}": its host is not a valid URL`));
    }
    // The service name only: its address is the operator's internal network, not the client's business.
    const label = `Flex service "${serviceName}"`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(errors.blInternalError(`${label}: the host must be an http or https URL`));
    }
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body), 'utf8');
    const transport = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    const headers: Record<string, string | number> = { ...call.headers, accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<FlexAnswer>((resolve, reject) => {
      let settled = false;
      let req: http.ClientRequest | undefined;
      const finish = (error: KinveyError | null, answer?: FlexAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          req?.destroy();
          reject(error);
        } else resolve(answer as FlexAnswer);
      };
      const timer = setTimeout(
        () => finish(errors.blTimeoutError(`${label} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const send = (mayRetry: boolean): void => {
        try {
          req = transport.request(url, { method: call.method, headers, agent });
        } catch (cause) {
          // Invalid header characters throw synchronously; flexHeaders keeps the values valid, so
          // this is kinbase's bug, reported without the header values (they hold secrets).
          finish(
            errors.blInternalError(
              `${label}: the request could not be built (${(cause as NodeJS.ErrnoException).code ?? 'invalid'})`,
            ),
          );
          return;
        }
        const sent = req;
        sent.on('error', (cause: NodeJS.ErrnoException) => {
          // A kept-alive socket the service closed while idle fails on reuse before the service
          // read anything (Node's documented race): one retry on a fresh socket is safe.
          if (mayRetry && sent.reusedSocket && cause.code === 'ECONNRESET') return send(false);
          finish(errors.blInternalError(`${label} is unreachable: ${cause.code ?? cause.message}`));
        });
        sent.on('response', (res) => this.readAnswer(res, label, finish));
        sent.end(payload);
      };
      send(true);
    });
  }

  private readAnswer(
    res: http.IncomingMessage,
    label: string,
    finish: (error: KinveyError | null, answer?: FlexAnswer) => void,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxResponseBytes) {
        finish(errors.blInternalError(`${label} answered more than ${this.maxResponseBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (cause: NodeJS.ErrnoException) =>
      finish(errors.blInternalError(`${label} broke off its answer: ${cause.code ?? cause.message}`)),
    );
    res.on('aborted', () => finish(errors.blInternalError(`${label} broke off its answer`)));
    res.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        finish(errors.blInternalError(`${label} answered ${res.statusCode ?? 0} with a body that is not JSON`));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      finish(null, { status: res.statusCode ?? 0, headers, body });
    });
  }

  /** Closes the kept-alive sockets; calls made afterwards open new ones. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/**
 * One URL path segment that stays one segment: everything but letters, digits and `-` is
 * percent-encoded; `_` too, so an entity id `_count` reaches the by-id route (the receiver matches
 * `/:serviceObject/_count` literally before it decodes `:id`). A segment that is only `.` or `..`
 * is still a dot segment once encoded (%2E is unreserved; URL parsers decode it), so callers must
 * refuse those.
 */
export function pathSegment(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'), (byte) =>
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}

/**
 * A header value Node will send: HTTP/1.1 headers are bytes, so text beyond Latin-1 goes as its
 * UTF-8 bytes (what the receiver's Express reads back as Latin-1), and control characters, which
 * could split headers, are dropped.
 */
function headerValue(text: string): string {
  const latin1 = Buffer.from(text, 'utf8').toString('latin1');
  // eslint-disable-next-line no-control-regex
  return latin1.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
}

/**
 * A header value that names who is asking, which the service reads back exactly or not at all:
 * headerValue drops control characters and the receiver's parser trims spaces and tabs at either
 * end, so "carol " or "car\u0000ol" would reach the service as carol. Throws 550 BLInternalError.
 */
function identityHeader(text: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]|^[\t ]|[\t ]$/.test(text)) {
    throw errors.blInternalError(
      `The caller's ${what} holds control characters or spaces at its ends, which an HTTP header cannot carry to a Flex service unchanged`,
    );
  }
  return headerValue(text);
}

/** JSON for a header: non-ASCII escaped as \uXXXX, so the receiver's JSON.parse gets it back exactly. */
function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The headers kinvey-code-task-runner's receiver reads into a task, for functions and data alike.
 * The request id is the request's own (the one its response carries, see requestIdFrom), so one
 * id follows the request through the backend and the service's logs. Throws 550 BLInternalError
 * for a username the service could not read back exactly (see identityHeader).
 */
export function flexHeaders(service: FlexServiceSpec, app: FlexApp, caller: FlexCaller): Record<string, string> {
  const headers: Record<string, string> = {
    'x-auth-key': headerValue(service.secret),
    'x-kinvey-app-metadata': headerJson({
      _id: app.appKey,
      appsecret: app.appSecret,
      mastersecret: app.masterSecret,
      baasUrl: app.baasUrl,
    }),
    'x-kinvey-original-request-headers': headerJson(caller.headers),
    'x-kinvey-environment-id': headerValue(app.appKey),
    // blRequestOf already put the response's own id here; checked again so that no path can
    // hand a service (and its logs) an id of the client's choosing that the response would refuse.
    'x-kinvey-request-id': requestIdFrom(caller.headers['x-kinvey-request-id']),
  };
  // The receiver defaults both to ''; login hooks run before the user is known.
  if (caller.username) headers['x-kinvey-username'] = identityHeader(caller.username, 'username');
  if (caller.userId) headers['x-kinvey-user-id'] = headerValue(caller.userId);
  return headers;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What kinvey-datalink-errors answers for a missing or wrong X-Auth-Key. */
const SHARED_SECRET_REJECTED = 'The Authorization Key was not valid or missing.';

/** Flex's `debug` is whatever the handler passed (string, object, an Error as {name, message, stack}). */
function debugText(debug: unknown): string {
  if (debug === undefined || debug === null) return '';
  if (typeof debug === 'string') return debug;
  if (isRecord(debug)) {
    if (Object.keys(debug).length === 0) return '';
    // An Error: its stack is the service's internals, not the client's business.
    if (typeof debug.name === 'string' && typeof debug.message === 'string') return `${debug.name}: ${debug.message}`;
  }
  // JSON.stringify answers undefined only for values JSON cannot hold, which a parsed body never is.
  const text = (JSON.stringify(debug) as string | undefined) ?? '';
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}

/**
 * The KinveyError a client sees for a Flex error answer (`errorBody` is the function answer's
 * `response.body`, or a data answer's body). The service's own name, status, description and debug
 * pass through as Kinvey did (`BadRequest` 400, `FlexRuntimeError` 550, ...), which is why this
 * builds a KinveyError directly instead of through the catalogue. A rejected shared secret is
 * kinbase's misconfiguration, not bad client credentials: it becomes BLInternalError, never a 401
 * the SDKs would log the user out on.
 */
export function flexError(serviceName: string, status: number, errorBody: unknown): KinveyError {
  if (!isRecord(errorBody) || typeof errorBody.error !== 'string') {
    return errors.blInternalError(`Flex service "${serviceName}" answered ${status} without a Kinvey error body`);
  }
  if (status === 401 && errorBody.debug === SHARED_SECRET_REJECTED) {
    return errors.blInternalError(
      `Flex service "${serviceName}" rejected kinbase's shared secret (X-Auth-Key): check the secret configured for it`,
    );
  }
  const description = typeof errorBody.description === 'string' ? errorBody.description : '';
  return new KinveyError(errorBody.error, status, description, debugText(errorBody.debug));
}
