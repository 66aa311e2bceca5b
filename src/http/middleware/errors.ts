import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { errors, isKinveyError, type KinveyError } from '../../domain/errors';
import { StoreError } from '../../domain/ports';
import { redactUrl } from './access-log';
import { localsOf } from './locals';

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/** Maps anything thrown by a route to the Kinvey error the client sees. */
export function toKinveyError(err: unknown): { error: KinveyError; unexpected: boolean } {
  if (isKinveyError(err)) return { error: err, unexpected: false };
  const parserError = err as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return {
        error: errors.jsonParseError('The request body is not valid JSON, or not a JSON object or array.'),
        unexpected: false,
      };
    case 'entity.too.large':
      return {
        error: errors.requestEntityTooLarge('Send large content through the Files API instead.'),
        unexpected: false,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        error: errors.badRequest('Unsupported content encoding or charset; send UTF-8 JSON.'),
        unexpected: false,
      };
    case 'request.aborted':
      return { error: errors.incompleteRequestBody('The client aborted the request body.'), unexpected: false };
  }
  // A path segment whose percent-escapes do not decode (`/user/K/%ZZ`): the router's URIError.
  if (err instanceof URIError) {
    return {
      error: errors.badRequest('A path segment has a malformed percent-escape; encode it with encodeURIComponent.'),
      unexpected: false,
    };
  }
  // Other client errors raised by Express or body-parser (e.g. a gzip body that is not gzip).
  const status = parserError?.status ?? parserError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && parserError?.expose === true) {
    return {
      error: errors.badRequest(`The request could not be read: ${String(parserError.message ?? '').slice(0, 200)}`),
      unexpected: false,
    };
  }
  if (err instanceof StoreError && err.kind === 'unavailable') {
    // The one mapping of a store that is down: 503 with Retry-After (the object store's own
    // failures are mapped to the same answer where the Files API meets them). Logged: the operator
    // needs to know, the client only that it may retry.
    return { error: errors.storeUnavailable(), unexpected: true };
  }
  if (err instanceof StoreError && err.kind === 'too-large') {
    return { error: errors.resultSetSizeExceeded(err.message.slice(0, 300)), unexpected: false };
  }
  if (err instanceof StoreError && err.kind === 'invalid') {
    return {
      error: errors.badRequest(`The document store refused this request: ${err.message.slice(0, 300)}`),
      unexpected: false,
    };
  }
  return { error: errors.kinveyInternalErrorRetry(), unexpected: true };
}

/** The one error renderer: `{"error","description","debug"}` with the real status. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { error, unexpected } = toKinveyError(err);
    if (unexpected) {
      // The cause goes to the log, never to the client.
      // Signed URLs are bearer capabilities: never written to a log, in the URL or in the error text.
      logger.error(
        {
          err: redactedError(err),
          requestId: localsOf(res).requestId,
          method: req.method,
          url: redactUrl(req.originalUrl),
        },
        'unexpected error',
      );
    }
    if (error.status === 550) {
      // Business Logic that failed is the operator's to fix: name it in the log (debug says which
      // hook or endpoint and why).
      logger.warn(
        {
          requestId: localsOf(res).requestId,
          method: req.method,
          url: redactUrl(req.originalUrl),
          error: error.error,
          debug: error.debug,
        },
        'Business Logic did not complete',
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(error.status).json(error.toJSON());
  };
}

/** The error as logged: message and stack with URL signatures redacted, other fields kept. */
function redactedError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? redactSecrets(err) : err;
  return {
    type: err.name,
    message: redactSecrets(err.message),
    stack: redactSecrets(err.stack ?? ''),
    ...('code' in err ? { code: (err as { code: unknown }).code } : {}),
  };
}

/** Signature-like values anywhere in a text (not only in a query string at the start of a URL). */
function redactSecrets(text: string): string {
  return redactUrl(text).replace(/((?:signature|X-Goog-Signature|X-Goog-Credential)=)[^&#\s"']*/gi, '$1[redacted]');
}

/** Unknown routes: 404 in Kinvey's error shape. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(errors.routeNotFound(`${req.method} ${req.path}`));
}
