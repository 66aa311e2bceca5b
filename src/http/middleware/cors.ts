import type { NextFunction, Request, Response } from 'express';

const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Content-Range',
  'Range',
  'X-Requested-With',
  'X-Kinvey-API-Version',
  'X-Kinvey-Client-App-Version',
  'X-Kinvey-Custom-Request-Properties',
  'X-Kinvey-Device-Information',
  'X-Kinvey-Device-Info',
  'X-Kinvey-Content-Type',
  'X-Kinvey-Skip-Business-Logic',
  'X-Kinvey-Trace-Request',
  'X-Kinvey-Force-Debug-Log-Credentials',
  'X-Kinvey-Include-Headers-In-Response',
  'X-Kinvey-ResponseWrapper',
  'X-Kinvey-Origin',
  'X-Kinvey-Include-Items-Count',
  'X-Kinvey-Request-Id',
].join(', ');

const EXPOSED_HEADERS = [
  'X-Kinvey-Request-Start',
  'X-Kinvey-Request-Id',
  'X-Kinvey-API-Version',
  'X-Kinvey-Items-Count',
  'Location',
  'Range',
  'Content-Range',
  'Content-Length',
  'ETag',
].join(', ');

/**
 * CORS for browser SDKs: any origin (credentials travel in Authorization, never in cookies),
 * Kinvey's request headers allowed, the headers SDKs read exposed. Preflights end here with 204.
 */
export function cors(req: Request, res: Response, next: NextFunction): void {
  const origin = req.get('origin');
  res.setHeader('Access-Control-Allow-Origin', origin ?? '*');
  if (origin) res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.get('access-control-request-headers') ?? ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
}
