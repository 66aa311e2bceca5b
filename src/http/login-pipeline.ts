/**
 * The login pipeline: every way of proving a password over HTTP runs the same steps, in the same
 * order:
 *   throttle -> onPreLogin -> password proof (throttle, hashing, disabled users, second factor)
 *   -> onPostLogin, with onLoginFailure when the proof fails.
 * The first throttle check counts nothing and refuses an attempt that is already over a limit
 * before any hook runs, so a flood of throttled guesses costs neither a hash nor a Business Logic
 * call; the proof's own check counts the attempt the hooks leave (a hook may rewrite the username).
 * - `POST /user/:appKey/login` answers the login: a session, or the MFA challenge.
 * - Basic user credentials (API below 6) on any route: the request goes on as the user only when
 *   the proof passed (a user with MFA on never passes it) and the hooks' answer is a success. A
 *   hook that turns the login away answers the request as it would have answered the login.
 * The password proof itself is one domain function (password-proof.ts) behind both.
 */
import type { Request, Response } from 'express';
import type { HookPipeline, HookedCall } from '../business-logic/hooks/hook-pipeline';
import type { BlResponse } from '../business-logic/types';
import type { AppDefinition } from '../config/load-config';
import { errors } from '../domain/errors';
import type { Principal } from '../domain/access/principal';
import type { BasicLogin, LoginAnswer, UsersService } from '../domain/users/users.service';
import { blRequestAs, callerAs, hookedCall, inputOf, ok } from './business-logic';
import { principalOf } from './middleware/locals';

/** The user collection's name for Business Logic hooks. */
export const USERS = 'user';

/**
 * Thrown by `verifyBasicUser` when a login hook turned the login away: the auth middleware sends
 * `response` (the hook's status and body) instead of running the route.
 */
export class LoginRefusedByHook extends Error {
  constructor(readonly response: BlResponse) {
    super(`A login hook answered ${response.status}`);
    this.name = 'LoginRefusedByHook';
  }
}

/**
 * Structurally a SessionVerifier (middleware/auth.ts); not declared with `implements`, which would
 * make the auth middleware and this file import each other.
 */
export class LoginPipeline {
  constructor(
    private readonly users: UsersService,
    private readonly hooks: HookPipeline,
  ) {}

  verifyToken(app: AppDefinition, token: string): Promise<Principal | null> {
    return this.users.verifyToken(app, token);
  }

  /**
   * `POST /user/:appKey/login` (app credentials in res.locals.principal): runs the login hooks
   * around UsersService.login; `respond` turns the login's answer into the response post hooks see.
   * Throws what the login or a hook throws (after onLoginFailure for a failed login).
   */
  async login(req: Request, res: Response, respond: (answer: LoginAnswer) => Promise<BlResponse>): Promise<BlResponse> {
    const principal = principalOf(res);
    const call = hookedCall(req, res, USERS, 'login');
    await this.users.refuseThrottledLogin(
      principal.appKey,
      (req.body as { username?: unknown } | undefined)?.username,
      clientOf(req),
    );
    return this.hooks.run(call, inputOf(req), async ({ body }) =>
      respond(
        await this.users
          .login(principal, body, clientOf(req))
          .catch((err: unknown) => this.hooks.loginFailed(call, err)),
      ),
    );
  }

  /**
   * Basic user credentials (API below 6), proved as a login of `{username, password}` by the app.
   * Returns the user principal (without a session token). Throws 401 InvalidCredentials (wrong
   * password, unknown or disabled user, user with MFA on, a pre-login hook that answered with a
   * success itself), 429 TooManyLoginAttempts, what a hook throws, or LoginRefusedByHook.
   */
  async verifyBasicUser(req: Request, app: AppDefinition, username: string, password: string): Promise<Principal> {
    const asApp: Principal = { kind: 'app', appKey: app.appKey };
    const body = { username, password };
    // The hooks see what a login with these credentials would send them: a POST by the app with
    // the body {username, password} (the only difference is the Authorization header).
    const call: HookedCall = {
      appKey: app.appKey,
      collection: USERS,
      operation: 'login',
      skip: false,
      caller: callerAs(req, asApp),
      request: () => ({ ...blRequestAs(req, asApp, { collectionName: USERS }), method: 'POST', body, params: {} }),
    };
    await this.users.refuseThrottledLogin(app.appKey, username, clientOf(req));
    const outcome: { proved?: BasicLogin } = {};
    const response = await this.hooks.run(call, { body, params: {} }, async (input) => {
      outcome.proved = await this.users
        .loginWithBasic(app, input.body, clientOf(req))
        .catch((err: unknown) => this.hooks.loginFailed(call, err));
      return ok(outcome.proved.user);
    });
    const success = response.status >= 200 && response.status < 300;
    if (outcome.proved && success) return outcome.proved.principal;
    if (!outcome.proved && success) {
      // A pre hook answered the login itself (a custom login), so no password was checked here.
      throw errors.invalidCredentials(
        'An onPreLogin hook answered this login itself; Basic user credentials need the server to check the password. Log in with POST /user/:appKey/login instead.',
      );
    }
    throw new LoginRefusedByHook(response);
  }
}

/** The client the login throttle counts: the socket's address unless the app's trust proxy setting says otherwise. */
function clientOf(req: Request): string | undefined {
  return req.ip ?? req.socket.remoteAddress;
}
