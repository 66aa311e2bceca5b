import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { errors, isKinveyError, type KinveyError } from '../../domain/errors';
import { StoreError } from '../../ports';

interface BodyParserError { type?: string; status?: number; expose?: boolean }

/** Maps anything thrown by a route to the Kinvey error the client sees. */
export function toKinveyError(err: unknown): { error: KinveyError; unexpected: boolean } {
  if (isKinveyError(err)) return { error: err, unexpected: false };
  const parserError = err as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return { error: errors.jsonParseError('The request body is not valid JSON, or not a JSON object or array.'), unexpected: false };
    case 'entity.too.large':
      return { error: errors.requestEntityTooLarge('Send large content through the Files API instead.'), unexpected: false };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { error: errors.badRequest('Unsupported content encoding or charset; send UTF-8 JSON.'), unexpected: false };
    case 'request.aborted':
      return { error: errors.incompleteRequestBody('The client aborted the request body.'), unexpected: false };
  }
  if (err instanceof StoreError && err.kind === 'unavailable') {
    return { error: errors.kinveyInternalErrorRetry('The data store is unavailable.'), unexpected: true };
  }
  if (err instanceof StoreError && err.kind === 'invalid') {
    return { error: errors.badRequest(`The document store refused this request: ${err.message.slice(0, 300)}`), unexpected: false };
  }
  return { error: errors.kinveyInternalErrorRetry(), unexpected: true };
}

/** The one error renderer: `{"error","description","debug"}` with the real status. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { error, unexpected } = toKinveyError(err);
    if (unexpected) {
      // The cause goes to the log, never to the client.
      logger.error({ err, requestId: res.locals.requestId, method: req.method, url: req.originalUrl }, 'unexpected error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(error.status).json(error.toJSON());
  };
}

/** Unknown routes: 404 in Kinvey's error shape. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(errors.routeNotFound(`${req.method} ${req.path}`));
}
