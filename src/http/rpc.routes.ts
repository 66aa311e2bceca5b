import { Router } from 'express';
import type { AppRegistry } from '../domain/apps';
import type { CollectionRemover } from '../domain/collection-removal';
import { errors } from '../domain/errors';
import type { Principal } from '../domain/principal';
import type { UserNoticesService } from '../domain/user-notices';
import { requireAuth, withApp, type SessionVerifier } from './middleware/auth';

export interface RpcRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  notices: UserNoticesService;
  collections: CollectionRemover;
}

/**
 * `/rpc/:appKey`: the user helpers (kinvey-protocol.md §2.1, app credentials), `remove-collection`
 * (master) and custom endpoints, which answer EndpointDoesNotExist until Business Logic exists.
 */
export function rpcRoutes({ apps, sessions, notices, collections }: RpcRoutesDeps): Router {
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

  // What Kinvey's own integration tests call to empty a collection between runs (body
  // {collectionName}); kinbase always keeps the collection's configuration, as
  // X-Kinvey-Retain-collection-Metadata asks.
  router.post(`${base}/remove-collection`, withApp(apps), requireAuth(sessions, 'master'), async (req, res) => {
    const { appKey } = res.locals.principal as Principal;
    res.json({ count: await collections.removeAll(appKey, req.body) });
  });

  router.post(`${base}/custom/:endpoint`, withApp(apps), requireAuth(sessions, 'session-or-master'), () => {
    throw errors.endpointDoesNotExist('This app has no custom endpoints: kinbase does not run Business Logic yet.');
  });

  return router;
}
