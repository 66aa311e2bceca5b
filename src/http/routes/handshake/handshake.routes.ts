import { Router } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { appOf } from '../../middleware/locals';

/** The version string the handshake reports (Kinvey clients only display it). */
export const KINBASE_API_VERSION = '3.9.28';

/** `GET /appdata/:appKey` (ping) and the anonymous `GET /appdata` the 1.x library sends. */
export function handshakeRoutes(apps: AppRegistry, sessions: SessionVerifier): Router {
  const router = Router();
  router.get('/appdata', (_req, res) => {
    res.json({ version: KINBASE_API_VERSION, kinvey: 'hello' });
  });
  router.get('/appdata/:appKey', withApp(apps), requireAuth(sessions, 'any'), (_req, res) => {
    const app = appOf(res);
    res.json({
      version: KINBASE_API_VERSION,
      kinvey: `hello ${app.name}`,
      appName: app.name,
      environmentName: 'Development',
    });
  });
  return router;
}
