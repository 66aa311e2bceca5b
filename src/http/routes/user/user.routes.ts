import {
  Router,
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { AggregationService } from '../../../domain/appdata/aggregation.service';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import type { Principal } from '../../../domain/access/principal';
import { parseFilterParam, parseListQuery } from '../../../domain/query/parse-query';
import { kmdOf } from '../../../domain/users/user-records';
import type { ListOptions, UsersService } from '../../../domain/users/users.service';
import type { StoredDocument } from '../../../domain/ports';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { apiVersionOf } from '../../middleware/request-context';
import type { HookPipeline } from '../../../business-logic/hooks/hook-pipeline';
import { ok, sendBlResponse } from '../../business-logic';
import { collectionTarget, hookedRoute, type HookTarget } from '../../hooked-route';
import { USERS, type LoginPipeline } from '../../login-pipeline';
import { principalOf, userPrincipalOf } from '../../middleware/locals';

/** Turns user documents into what the client sees; the same shape as the appdata presenter. */
export type PresentUsers = (docs: StoredDocument[], req: Request, principal: Principal) => Promise<StoredDocument[]>;
/** Transforms an incoming signup or update body before the domain sees it. */
export type PrepareUserBody = (body: unknown) => unknown;

/**
 * The one exit of user documents: every route sends users through the configured presenter,
 * which defaults to this identity. KinveyFile resolution plugs in here (pass `present`).
 */
export const presentUsers: PresentUsers = async (docs) => docs;

/** The one entry of user bodies (signup, update); KinveyFile reference stripping plugs in here. */
export const prepareUserBody: PrepareUserBody = (body) => body;

export interface UserRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  users: UsersService;
  aggregations: AggregationService;
  present?: PresentUsers;
  prepareBody?: PrepareUserBody;
  /** `user` collection hooks (Business Logic). */
  hooks: HookPipeline;
  /** Logins: the login hooks around the password proof (the same pipeline Basic user credentials take). */
  logins: LoginPipeline;
}

/**
 * `/user/:appKey`: Kinvey's user API (kinvey-protocol.md §2.1). Returns the handlers to mount
 * with `app.use`: the router plus a recovery for signups whose JSON body is `null`.
 */
export function userRoutes(deps: UserRoutesDeps): Array<RequestHandler | ErrorRequestHandler> {
  const { apps, sessions, users, aggregations, hooks, logins } = deps;
  const present = deps.present ?? presentUsers;
  const prepareBody = deps.prepareBody ?? prepareUserBody;
  const router = Router();
  const base = '/user/:appKey';
  router.use(base, withApp(apps));

  // Hooked routes name their operation once; the target is the user collection (and `:id`).
  const user = collectionTarget(USERS);

  router.post(
    base,
    requireAuth(sessions, 'app'),
    hookedRoute(hooks, 'insert', user, async ({ body }, _target, req, res) => {
      const principal = principalOf(res);
      const created = await users.signup(principal, prepareBody(body), { startSession: apiVersionOf(req) < 6 });
      res.location(`/user/${encodeURIComponent(principal.appKey)}/${encodeURIComponent(created._id)}`);
      return ok(await presentOne(present, created, req, principal), 201);
    }),
  );

  router.post(`${base}/login`, requireAuth(sessions, 'app'), async (req, res) => {
    const principal = principalOf(res);
    sendBlResponse(
      res,
      await logins.login(req, res, async (answer) => {
        if ('challenge' in answer) return ok(answer.challenge);
        const user = await presentOne(present, answer.user, req, principal);
        // MFA passed by a recovery code or device token: kinvey-js-sdk 7 login.js reads this shape.
        return ok(answer.secondFactor ? { mfaRequired: false, user, authToken: kmdOf(answer.user).authtoken } : user);
      }),
    );
  });

  router.post(`${base}/_logout`, requireAuth(sessions, 'session'), async (_req, res) => {
    await users.logout(userPrincipalOf(res));
    res.status(204).end();
  });

  // The caller's own user: the entity the hooks see is the caller.
  const me = (_req: Request, res: Response): HookTarget => ({
    collection: USERS,
    entityId: userPrincipalOf(res).userId,
  });
  router.get(
    `${base}/_me`,
    requireAuth(sessions, 'session'),
    hookedRoute(hooks, 'fetch', me, async (_input, _target, req, res) => {
      const principal = userPrincipalOf(res);
      return ok(
        await presentOne(present, await users.me(principal, { includeToken: apiVersionOf(req) < 6 }), req, principal),
      );
    }),
  );

  router.get(
    `${base}/_count`,
    requireAuth(sessions, 'session-or-master'),
    hookedRoute(hooks, 'fetch', user, async ({ params }, _target, _req, res) =>
      ok({ count: await users.count(principalOf(res), parseFilterParam(params.query), listOptionsOf(params)) }),
    ),
  );

  // Fetch hooks run around aggregations too (see the appdata route).
  router.post(
    `${base}/_group`,
    requireAuth(sessions, 'session-or-master'),
    hookedRoute(hooks, 'fetch', user, async ({ body }, _target, _req, res) =>
      ok(await aggregations.groupUsers(principalOf(res), body)),
    ),
  );

  router.post(`${base}/_lookup`, requireAuth(sessions, 'session-or-master'), async (req, res) => {
    const principal = principalOf(res);
    res.json(await present(await users.lookup(principal, req.body), req, principal));
  });

  router.get(
    base,
    requireAuth(sessions, 'session-or-master'),
    hookedRoute(hooks, 'fetch', user, async ({ params }, _target, req, res) => {
      const principal = principalOf(res);
      return ok(
        await present(await users.list(principal, parseListQuery(params), listOptionsOf(params)), req, principal),
      );
    }),
  );

  router.get(
    `${base}/:id`,
    requireAuth(sessions, 'session-or-master'),
    hookedRoute(hooks, 'fetch', user, async (_input, _target, req, res) => {
      const principal = principalOf(res);
      return ok(await presentOne(present, await users.get(principal, String(req.params.id)), req, principal));
    }),
  );

  router.put(
    `${base}/:id`,
    requireAuth(sessions, 'session-or-master'),
    hookedRoute(hooks, 'update', user, async ({ body }, _target, req, res) => {
      const principal = principalOf(res);
      return ok(
        await presentOne(
          present,
          await users.update(principal, String(req.params.id), prepareBody(body)),
          req,
          principal,
        ),
      );
    }),
  );

  router.delete(
    `${base}/:id`,
    requireAuth(sessions, 'master'),
    hookedRoute(hooks, 'delete', user, async ({ params }, _target, req, res) => {
      await users.remove(principalOf(res).appKey, String(req.params.id), { hard: params.hard === 'true' });
      return { status: 204, headers: {}, body: undefined };
    }),
  );

  router.post(`${base}/:id/_restore`, requireAuth(sessions, 'master'), async (req, res) => {
    await users.restore(principalOf(res).appKey, String(req.params.id));
    res.status(204).end();
  });

  router.delete(`${base}/:id/tokens`, requireAuth(sessions, 'session-or-master'), async (req, res) => {
    await users.invalidateTokens(principalOf(res), String(req.params.id));
    res.status(204).end();
  });

  return [acceptNullSignupBody, router];
}

const SIGNUP_PATH = /^\/user\/[^/]+\/?$/;

/**
 * The JS SDK signs up implicit users with the JSON body `null`, which the strict JSON parser
 * refuses; for exactly that request the body becomes null and the request carries on.
 */
function acceptNullSignupBody(err: unknown, req: Request, _res: Response, next: NextFunction): void {
  const parseError = err as { type?: string; body?: unknown };
  if (
    req.method === 'POST' &&
    SIGNUP_PATH.test(req.path) &&
    parseError?.type === 'entity.parse.failed' &&
    typeof parseError.body === 'string' &&
    parseError.body.trim() === 'null'
  ) {
    req.body = null;
    return next();
  }
  next(err);
}

/** `includeDisabled=true` (honoured for master only, by the service): soft-deleted users too. */
function listOptionsOf(params: Record<string, unknown>): ListOptions {
  return { includeDisabled: params.includeDisabled === 'true' };
}

async function presentOne(
  present: PresentUsers,
  doc: StoredDocument,
  req: Request,
  principal: Principal,
): Promise<StoredDocument | undefined> {
  return (await present([doc], req, principal))[0];
}
