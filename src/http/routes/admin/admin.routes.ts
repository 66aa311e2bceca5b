import { Router } from 'express';
import type { Config } from '../../../config/load-config';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import type { CollectionCatalog } from '../../../domain/apps/collection-catalog';
import { describeServer } from '../../presenters/server-info';
import { describeBusinessLogic } from '../../../business-logic/overview';
import type { BusinessLogicRuntime } from '../../../business-logic/runtime';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { KINBASE_API_VERSION } from '../handshake/handshake.routes';
import { appOf } from '../../middleware/locals';

export interface AdminRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  config: Config;
  catalog: CollectionCatalog;
  businessLogic: BusinessLogicRuntime;
  /** When this app was built (reported as the server's start). */
  startedAt: Date;
  clock: () => Date;
}

/**
 * `/admin/:appKey/...`: the management API the console (and any script) uses, master credentials
 * only: app secrets and user sessions are 401 InsufficientCredentials, an unknown app 404. Every
 * answer is about the addressed app alone.
 */
export function adminRoutes({
  apps,
  sessions,
  config,
  catalog,
  businessLogic,
  startedAt,
  clock,
}: AdminRoutesDeps): Router {
  const router = Router();
  const base = '/admin/:appKey';
  router.use(base, withApp(apps), requireAuth(sessions, 'master'));

  router.get(`${base}/collections`, async (_req, res) => {
    res.json(await catalog.list(appOf(res)));
  });

  router.get(`${base}/server`, (_req, res) => {
    res.json(describeServer(config, appOf(res), { version: KINBASE_API_VERSION, startedAt, now: clock() }));
  });

  router.get(`${base}/business-logic`, async (_req, res) => {
    const app = appOf(res);
    res.json(describeBusinessLogic(app.businessLogic, await businessLogic.recentErrors.of(app.appKey)));
  });

  return router;
}
