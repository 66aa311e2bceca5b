import { Router, type Request } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import type { CollectionRemover } from '../../../domain/appdata/collection-removal';
import { errors } from '../../../domain/errors';
import type { UserNoticesService } from '../../../domain/users/user-rpc';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import type { BusinessLogicRuntime } from '../../../business-logic/runtime';
import { blRequestOf, callerOf, sendBlResponse } from '../../business-logic';
import { appOf, principalOf } from '../../middleware/locals';

export interface RpcRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  notices: UserNoticesService;
  collections: CollectionRemover;
  businessLogic: BusinessLogicRuntime;
}

/**
 * `/rpc/:appKey`: the user helpers (kinvey-protocol.md §2.1, app credentials), `remove-collection`
 * (master) and custom endpoints (Business Logic).
 */
export function rpcRoutes({ apps, sessions, notices, collections, businessLogic }: RpcRoutesDeps): Router {
  const router = Router();
  const base = '/rpc/:appKey';
  const appAuth = [withApp(apps), requireAuth(sessions, 'app')];

  router.post(`${base}/check-username-exists`, ...appAuth, async (req, res) => {
    const { appKey } = principalOf(res);
    res.json({ usernameExists: await notices.usernameExists(appKey, req.body) });
  });

  // The three starts answer 204 whether the account exists or not, and whether a limit held the
  // mail back or not; the mail itself is queued, never awaited (see user-rpc.ts).
  router.post(`${base}/user-forgot-username`, ...appAuth, async (req, res) => {
    await notices.forgotUsername(appOf(res), req.body, clientOf(req));
    res.status(204).end();
  });

  router.post(`${base}/:username/user-password-reset-initiate`, ...appAuth, async (req, res) => {
    await notices.initiatePasswordReset(appOf(res), String(req.params.username), clientOf(req));
    res.status(204).end();
  });

  router.post(`${base}/:username/user-email-verification-initiate`, ...appAuth, async (req, res) => {
    await notices.initiateEmailVerification(appOf(res), String(req.params.username), clientOf(req));
    res.status(204).end();
  });

  // What Kinvey's own integration tests call to empty a collection between runs (body
  // {collectionName}); kinbase always keeps the collection's configuration, as
  // X-Kinvey-Retain-collection-Metadata asks.
  router.post(`${base}/remove-collection`, withApp(apps), requireAuth(sessions, 'master'), async (req, res) => {
    const { appKey } = principalOf(res);
    res.json({ count: await collections.removeAll(appKey, req.body) });
  });

  // Custom endpoints: the app's Business Logic (internal code or a Flex handler) answers.
  router.post(
    `${base}/custom/:endpoint`,
    withApp(apps),
    requireAuth(sessions, 'session-or-master'),
    async (req, res) => {
      const name = String(req.params.endpoint);
      const { appKey } = principalOf(res);
      if (!businessLogic.hasEndpoint(appKey, name))
        throw errors.endpointDoesNotExist(`This app has no custom endpoint named ${name.slice(0, 100)}.`);
      sendBlResponse(
        res,
        await businessLogic.runEndpoint(appKey, name, blRequestOf(req, res, { endpoint: name }), callerOf(req, res)),
      );
    },
  );

  return router;
}

/** The client the initiation limits count: the socket's address unless the app's trust proxy setting says otherwise. */
function clientOf(req: Request): string | undefined {
  return req.ip ?? req.socket.remoteAddress;
}
