import { Router } from 'express';
import type { AppRegistry } from '../domain/apps';
import type { Principal } from '../domain/principal';
import type { UserNoticesService } from '../domain/user-notices';
import { requireAuth, withApp, type SessionVerifier } from './middleware/auth';

export interface RpcRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  notices: UserNoticesService;
}

/** The user helpers under `/rpc/:appKey` (kinvey-protocol.md §2.1), called with app credentials. */
export function rpcRoutes({ apps, sessions, notices }: RpcRoutesDeps): Router {
  const router = Router();
  const base = '/rpc/:appKey';
  const appAuth = [withApp(apps), requireAuth(sessions, 'app')];

  router.post(`${base}/check-username-exists`, ...appAuth, async (req, res) => {
    const { appKey } = res.locals.principal as Principal;
    res.json({ usernameExists: await notices.usernameExists(appKey, req.body) });
  });

  router.post(`${base}/user-forgot-username`, ...appAuth, async (req, res) => {
    await notices.forgotUsername((res.locals.principal as Principal).appKey, req.body);
    res.status(204).end();
  });

  router.post(`${base}/:username/user-password-reset-initiate`, ...appAuth, async (req, res) => {
    await notices.initiatePasswordReset((res.locals.principal as Principal).appKey, String(req.params.username));
    res.status(204).end();
  });

  router.post(`${base}/:username/user-email-verification-initiate`, ...appAuth, async (req, res) => {
    await notices.initiateEmailVerification((res.locals.principal as Principal).appKey, String(req.params.username));
    res.status(204).end();
  });

  return router;
}
