import type { NextFunction, Request, Response } from 'express';
import { isKinveyError } from '../../domain/errors';
import { toKinveyError } from './errors';

/**
 * Error middleware for the whole app, just before the error renderer: an error that says when to
 * come back (`retryAfterSeconds`: a throttled login, also through Basic user credentials on any
 * route; a store that is down for now) sends it as Retry-After. Errors the renderer maps (a
 * StoreError 'unavailable') are looked at as the client will see them.
 */
export function retryAfterHeader(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  setRetryAfter(res, isKinveyError(err) ? err : toKinveyError(err).error);
  next(err);
}

/** Sets Retry-After from an error that says when to come back; routes that answer errors themselves use it too. */
export function setRetryAfter(res: Response, error: unknown): void {
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof seconds === 'number' && !res.headersSent) res.set('Retry-After', String(seconds));
}
