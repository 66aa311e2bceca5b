import { Router } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { errors } from '../../../domain/errors';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';

/**
 * Routes the official SDKs call for Kinvey services kinbase does not offer: each answers a clear
 * Kinvey error the SDK surfaces (after the usual credential check), instead of a generic 404.
 * - the Live service (`_subscribe`, `_unsubscribe`, `register-realtime`, `unregister-realtime`)
 *   and push: 403 MissingConfiguration, what Kinvey answers for a service an app has not set up;
 * - Mobile Identity Connect (`/oauth/auth`, `/oauth/token` on auth.kinvey.com, which SDK
 *   adapters send here too): 400 FeatureUnavailable.
 */
export function unavailableRoutes(apps: AppRegistry, sessions: SessionVerifier): Router {
  const router = Router();
  const notConfigured = (what: string) => () => {
    throw errors.missingConfiguration(`${what} is not available on kinbase.`);
  };
  const live = notConfigured('The Live service (real-time data)');
  router.post(
    '/appdata/:appKey/:collection/_subscribe',
    withApp(apps),
    requireAuth(sessions, 'session-or-master'),
    live,
  );
  router.post(
    '/appdata/:appKey/:collection/_unsubscribe',
    withApp(apps),
    requireAuth(sessions, 'session-or-master'),
    live,
  );
  router.post('/user/:appKey/:id/register-realtime', withApp(apps), requireAuth(sessions, 'session'), live);
  router.post('/user/:appKey/:id/unregister-realtime', withApp(apps), requireAuth(sessions, 'session'), live);
  router.all('/push/:appKey/*rest', withApp(apps), requireAuth(sessions, 'any'), notConfigured('Push notifications'));
  router.all('/oauth/*rest', () => {
    throw errors.featureUnavailable(
      'Mobile Identity Connect (MIC / OAuth login) is not available on kinbase; log in with username and password.',
    );
  });
  return router;
}
