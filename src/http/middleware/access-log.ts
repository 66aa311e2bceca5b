/**
 * One log line per request (pino-http), keeping credentials out of the logs: no request headers
 * (Authorization carries app/master secrets and session tokens) and no URL signatures (a signed
 * download or upload URL is a bearer capability until it expires, and so is the `token` of an
 * account page's link). What stays: request id, method,
 * path and the remaining query, remote address, user agent, status and response time.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** Query parameters whose value grants access on its own. */
const SECRET_PARAMS = /([?&](?:signature|X-Goog-Signature|X-Goog-Credential|token)=)[^&#]*/gi;

/** The URL with the values of signature parameters replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

interface SerializedRequest {
  id: unknown;
  method: string;
  url: string;
  remoteAddress?: string;
  raw: IncomingMessage;
}

export function accessLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (_req, res) => String(res.getHeader('X-Kinvey-Request-Id')),
    quietReqLogger: true,
    serializers: {
      req: (req: SerializedRequest) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.remoteAddress,
        userAgent: req.raw.headers['user-agent'],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
