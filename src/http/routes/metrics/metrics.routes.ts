import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { secretsEqual } from '../../../domain/apps/app-registry';
import { errors } from '../../../domain/errors';
import type { Metrics } from '../../../internal/metrics';
import { parseAuthorization } from '../../middleware/authorization';
import { localsOf } from '../../middleware/locals';

/**
 * Counts every request: route pattern, status, duration and the document store calls made for it.
 * Goes first, so the whole request (authentication included) runs inside its tally.
 */
export function requestMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    metrics.track(() => {
      const tally = metrics.current();
      res.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.requestEnded(req.method, routeOf(req, res), res.statusCode, seconds, tally);
      });
      next();
    });
  };
}

/**
 * The route pattern that answered (`/appdata/:appKey/:collection/:id`), never the path itself: the
 * number of label values stays bounded whatever URLs clients send.
 */
function routeOf(req: Request, res: Response): string {
  const own = localsOf(res).metricsRoute;
  if (typeof own === 'string') return own;
  const route = (req as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}

/**
 * `GET /metrics`: Prometheus text format, for `Authorization: Bearer <KINBASE_METRICS_TOKEN>` or
 * the master credentials of any app this server hosts (the numbers cover every app).
 */
export function metricsRoutes(metrics: Metrics, apps: AppRegistry, token: string | null): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (!allowed(req.get('authorization'), apps, token)) {
      throw errors.invalidCredentials(
        'Metrics need Authorization: Bearer <KINBASE_METRICS_TOKEN>, or Basic credentials of an app key and its master secret.',
      );
    }
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.render());
  });
  return router;
}

function allowed(header: string | undefined, apps: AppRegistry, token: string | null): boolean {
  const auth = parseAuthorization(header);
  if (auth?.scheme === 'bearer') return token !== null && secretsEqual(auth.token, token);
  if (auth?.scheme !== 'basic') return false;
  const app = apps.get(auth.user);
  // Compare even for an unknown app key, so timing does not tell which keys exist.
  const matches = secretsEqual(auth.secret, app?.masterSecret ?? '\u0000no app');
  return app !== undefined && matches;
}
