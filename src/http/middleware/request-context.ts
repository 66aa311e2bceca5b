import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MonotonicClock } from '../../domain/appdata/monotonic-clock';
import { requestIdFrom } from '../../domain/request-id';
import { localsOf } from './locals';

/**
 * Gives every response an X-Kinvey-Request-Id (the client's own, when it sent a sane one, as Swift
 * does), and the clock that also stamps `_kmd.lmt` to take the request's start from
 * (requestStartOf).
 */
export function requestContext(clock: MonotonicClock): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const id = requestIdFrom(req.get('x-kinvey-request-id'));
    const locals = localsOf(res);
    locals.requestId = id;
    locals.takeRequestStart = () => clock.requestStart();
    res.setHeader('X-Kinvey-Request-Id', id);
    res.setHeader('X-Kinvey-API-Version', String(apiVersionOf(req)));
    next();
  };
}

/**
 * This request's start (X-Kinvey-Request-Start, a delta set's next `since`), taken the first time it
 * is asked for: a read asks before it queries. Taken only by the reads that send it, because every
 * start taken in the millisecond of a write moves the clock one millisecond on (monotonic-clock.ts).
 */
export function requestStartOf(res: Response): Date {
  const locals = localsOf(res);
  if (!locals.takeRequestStart) throw new Error('requestStartOf is called before requestContext ran');
  locals.requestStart ??= locals.takeRequestStart();
  return locals.requestStart;
}

/** The X-Kinvey-API-Version of a request (header name case-insensitive); 6 when absent or unreadable. */
export function apiVersionOf(req: Request): number {
  const raw = req.get('x-kinvey-api-version');
  const parsed = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : 6;
}
