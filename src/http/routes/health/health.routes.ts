/**
 * `GET /healthz` and `GET /readyz`, for load balancers and Kubernetes probes. No credentials, and
 * nothing in the answers but states: no versions, hosts, URLs or error messages.
 * - /healthz: the process is alive and its event loop turns; it asks no store (a database outage
 *   must not get every instance restarted).
 * - /readyz: 200 when the document store and the object store both answered within the deadline
 *   and the instance is not draining; 503 otherwise, naming which one failed.
 */
import { Router } from 'express';
import type { Readiness } from '../../../domain/readiness';

export function healthRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await readiness.check();
    res
      .status(report.ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({
        status: report.ready ? 'ready' : report.draining ? 'draining' : 'unavailable',
        documents: report.documents,
        objects: report.objects,
      });
  });
  return router;
}
