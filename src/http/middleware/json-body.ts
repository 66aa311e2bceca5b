import type { NextFunction, Request, Response } from 'express';
import { errors } from '../../domain/errors';

/**
 * Refuses a request that carries a body the JSON parser did not read (no or another
 * Content-Type): without this, a signup sent as text/plain would silently create a random user
 * with a generated name and password, ignoring the ones sent. Requests without a body pass (the
 * SDKs sign up implicit users with none). Mounted after the JSON parser; the local storage routes,
 * which take raw bytes, answer before it.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && req.body === undefined) {
    const type = req.get('content-type');
    return next(
      errors.badRequest(
        `The body was not read: send it as JSON with the header Content-Type: application/json${type ? ` (this request sent ${type.slice(0, 100)})` : ' (this request sent no Content-Type)'}.`,
      ),
    );
  }
  next();
}
