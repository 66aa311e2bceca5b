import type { NextFunction, Request, Response } from 'express';
import type { AppDefinition } from '../../config/load-config';
import { secretsEqual, type AppRegistry } from '../../domain/apps/app-registry';
import { errors } from '../../domain/errors';
import type { Principal } from '../../domain/access/principal';
import { sendBlResponse } from '../business-logic';
import { LoginRefusedByHook } from '../login-pipeline';
import { parseAuthorization } from './authorization';
import { apiVersionOf } from './request-context';
import { appOf, localsOf } from './locals';

/** Verifies `Kinvey <token>` sessions and user Basic credentials; provided by the login pipeline (login-pipeline.ts). */
export interface SessionVerifier {
  /** The user principal of a live session token, or null when unknown, expired or logged out. */
  verifyToken(app: AppDefinition, token: string): Promise<Principal | null>;
  /**
   * The user principal for username/password (API versions below 6 only), proved like a login
   * (throttle, login hooks, second factor). Throws 401 InvalidCredentials, 429
   * TooManyLoginAttempts, or LoginRefusedByHook.
   */
  verifyBasicUser(req: Request, app: AppDefinition, username: string, password: string): Promise<Principal>;
}

/** Looks up `:appKey`; unknown apps are 404 AppNotFound. Sets res.locals.app. */
export function withApp(apps: AppRegistry) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const app = apps.get(String(req.params.appKey));
    if (!app) return next(errors.appNotFound(`No app with key ${String(req.params.appKey).slice(0, 64)}`));
    localsOf(res).app = app;
    next();
  };
}

/**
 * Checks the Authorization header against the app and returns the principal. Throws 401
 * InvalidCredentials for missing, malformed or wrong credentials (never for a permission problem);
 * for Basic user credentials also what the login pipeline throws (429, LoginRefusedByHook).
 */
export async function authenticate(req: Request, app: AppDefinition, sessions: SessionVerifier): Promise<Principal> {
  const auth = parseAuthorization(req.get('authorization'));
  if (!auth) throw errors.invalidCredentials('The request carries no Authorization header.');
  if (auth.scheme === 'kinvey') {
    const principal = auth.token ? await sessions.verifyToken(app, auth.token) : null;
    if (!principal) throw errors.invalidCredentials('The session token is unknown, expired or logged out.');
    return principal;
  }
  if (auth.scheme === 'malformed-basic') throw errors.invalidCredentials('Malformed Basic credentials.');
  if (auth.scheme === 'basic') {
    const { user, secret } = auth;
    if (user === app.appKey) {
      // Check both secrets every time so timing does not tell which one was close.
      const isMaster = secretsEqual(secret, app.masterSecret);
      const isApp = secretsEqual(secret, app.appSecret);
      if (isMaster) return { kind: 'master', appKey: app.appKey };
      if (isApp) return { kind: 'app', appKey: app.appKey };
      throw errors.invalidCredentials('Wrong app secret or master secret.');
    }
    // Every proof of a user's password goes through the login pipeline, Basic on any route too.
    if (apiVersionOf(req) < 6) return sessions.verifyBasicUser(req, app, user, secret);
    throw errors.invalidCredentials('Basic credentials must be the app key with the app or master secret.');
  }
  const name = auth.scheme === 'unsupported' ? auth.name : auth.scheme;
  throw errors.invalidCredentials(`Unsupported authorization scheme ${name.slice(0, 20)}.`);
}

/** Which credential kinds a route accepts (kinvey-protocol.md §1.2). */
export type CredentialPolicy = 'app' | 'session' | 'session-or-master' | 'master' | 'any';

const POLICY_ALLOWS: Record<CredentialPolicy, ReadonlyArray<Principal['kind']>> = {
  any: ['master', 'app', 'user'],
  app: ['master', 'app'],
  session: ['user'],
  'session-or-master': ['user', 'master'],
  master: ['master'],
};

/**
 * Middleware: authenticates (res.locals.principal) and enforces the route's credential policy.
 * A valid credential of the wrong kind is 401 InsufficientCredentials. Basic user credentials a
 * login hook turned away get the hook's answer, as the login would have.
 */
export function requireAuth(sessions: SessionVerifier, policy: CredentialPolicy) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const app = appOf(res);
    let principal: Principal;
    try {
      principal = await authenticate(req, app, sessions);
    } catch (err) {
      if (err instanceof LoginRefusedByHook) return sendBlResponse(res, err.response);
      throw err;
    }
    const allowed = POLICY_ALLOWS[policy].includes(principal.kind);
    if (!allowed) {
      throw errors.insufficientCredentials(
        `This operation needs ${policy.replace(/-/g, ' ')} credentials; the request used ${principal.kind} credentials.`,
      );
    }
    localsOf(res).principal = principal;
    next();
  };
}
