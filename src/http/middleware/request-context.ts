import type { NextFunction, Request, Response } from 'express';
import { requestIdFrom } from '../../domain/request-id';

/**
 * Gives every response an X-Kinvey-Request-Id (the client's own, when it sent a sane one, as Swift
 * does) and records the request start for X-Kinvey-Request-Start.
 */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const id = requestIdFrom(req.get('x-kinvey-request-id'));
  res.locals.requestId = id;
  res.locals.requestStart = new Date();
  res.setHeader('X-Kinvey-Request-Id', id);
  res.setHeader('X-Kinvey-API-Version', String(apiVersionOf(req)));
  next();
}

/** The X-Kinvey-API-Version of a request (header name case-insensitive); 6 when absent or unreadable. */
export function apiVersionOf(req: Request): number {
  const raw = req.get('x-kinvey-api-version');
  const parsed = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : 6;
}
