import { Router, type Request } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { errors } from '../../../domain/errors';
import type { MfaService } from '../../../domain/mfa/mfa.service';
import type { Principal } from '../../../domain/access/principal';
import type { UsersService } from '../../../domain/users/users.service';
import { parseAuthorization } from '../../middleware/authorization';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { presentUsers, type PresentUsers } from './user.routes';
import { appOf, principalOf } from '../../middleware/locals';

export interface MfaRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  users: UsersService;
  mfa: MfaService;
  present?: PresentUsers;
}

/**
 * Multi-factor authentication under `/user/:appKey`, as kinvey-js-sdk 7.0.0 calls it
 * (lib/user/user.js, createMFAAuthenticator.js, loginWithMFA.js, lib/mfa/index.js):
 * - `GET  :id/authenticators` -> 200 `[{id,name,type}]` (user.js listAuthenticators)
 * - `POST :id/authenticators` `{name,type:"totp"}` -> 201 `{id,name,type,config:{secret,…}}` (createMFAAuthenticator.js)
 * - `POST :id/authenticators/:aid/verify` `{code}` -> 200 `{recoveryCodes}` for the first one, `{}` after (createMFAAuthenticator.js)
 * - `DELETE :id/authenticators/:aid/` -> 204 (user.js removeAuthenticator)
 * - `GET|POST :id/recovery-codes` -> 200 `{recoveryCodes}` (user.js listRecoveryCodes, regenerateRecoveryCodes)
 * - `POST mfa/challenge` `{authenticatorId}` -> 200 `{}`, `POST mfa/complete` `{code,createDeviceToken}`
 *   -> 200 `{user,authToken,deviceToken?}`, both with `Authorization: KinveyMFA <mfaSessionToken>`
 *   (loginWithMFA.js; http/headers.js)
 * Management takes the user's own session or master; KinveyMFA is accepted on the two mfa routes only.
 */
export function mfaRoutes(deps: MfaRoutesDeps): Router {
  const { apps, sessions, users, mfa } = deps;
  const present = deps.present ?? presentUsers;
  const router = Router();
  const base = '/user/:appKey';
  const owner = requireAuth(sessions, 'session-or-master');
  router.use(base, withApp(apps));

  router.get(`${base}/:id/authenticators`, owner, async (req, res) => {
    res.json(await mfa.listAuthenticators(principalOf(res), String(req.params.id)));
  });

  router.post(`${base}/:id/authenticators`, owner, async (req, res) => {
    res.status(201).json(await mfa.createAuthenticator(principalOf(res), String(req.params.id), req.body));
  });

  router.post(`${base}/:id/authenticators/:aid/verify`, owner, async (req, res) => {
    res.json(await mfa.verifyAuthenticator(principalOf(res), String(req.params.id), String(req.params.aid), req.body));
  });

  router.delete(`${base}/:id/authenticators/:aid`, owner, async (req, res) => {
    await mfa.removeAuthenticator(principalOf(res), String(req.params.id), String(req.params.aid));
    res.status(204).end();
  });

  router.get(`${base}/:id/recovery-codes`, owner, async (req, res) => {
    res.json(await mfa.listRecoveryCodes(principalOf(res), String(req.params.id)));
  });

  router.post(`${base}/:id/recovery-codes`, owner, async (req, res) => {
    res.json(await mfa.regenerateRecoveryCodes(principalOf(res), String(req.params.id)));
  });

  router.post(`${base}/mfa/challenge`, async (req, res) => {
    await mfa.challenge(appOf(res).appKey, mfaSessionTokenOf(req), req.body);
    res.json({});
  });

  router.post(`${base}/mfa/complete`, async (req, res) => {
    const app = appOf(res);
    const { userId, deviceToken } = await mfa.complete(app.appKey, mfaSessionTokenOf(req), req.body);
    // The user is shown as to app credentials, like the login answer.
    const principal: Principal = { kind: 'app', appKey: app.appKey };
    const user = await users.loginAfterSecondFactor(principal, userId);
    const [shown] = await present([user], req, principal);
    const authToken = (user._kmd as { authtoken?: string }).authtoken;
    res.json(deviceToken ? { user: shown, authToken, deviceToken } : { user: shown, authToken });
  });

  return router;
}

/** The token of `Authorization: KinveyMFA <token>`; anything else is 401 InvalidCredentials. */
function mfaSessionTokenOf(req: Request): string {
  const auth = parseAuthorization(req.get('authorization'));
  if (auth?.scheme !== 'kinveymfa' || !/^\S+$/.test(auth.token)) {
    throw errors.invalidCredentials(
      'This request needs Authorization: KinveyMFA <mfaSessionToken> from the login answer.',
    );
  }
  return auth.token;
}
