import { Router, type Request, type Response } from 'express';
import type { HookOperation } from '../../../business-logic/hooks/hook-pipeline';
import type { BusinessLogicRuntime } from '../../../business-logic/runtime';
import type { FlexDataContext, FlexDataSource } from '../../../business-logic/flex/flex-data-source';
import { collectionPermissions } from '../../../domain/apps/app-registry';
import { checkAppdataCollection } from '../../../domain/appdata/entity-fields';
import { mayEver, type Operation } from '../../../domain/access/acl-scope';
import { errors } from '../../../domain/errors';
import { blRequestOf, requireBody, stringParams } from '../../business-logic';
import { hookedRoute, type HookTarget } from '../../hooked-route';
import { appOf, localsOf, principalOf } from '../../middleware/locals';

/**
 * `/appdata/:appKey/:collection` for collections backed by a Flex service object (`type:
 * "external"` in the environment file): the same routes, the same hooks, answered by the service's
 * data handlers. Collections that are not external fall through to the stored-collection routes.
 *
 * Entity ACLs do not apply (the service owns the data); collection permissions do as far as they
 * can: a `read-only` collection refuses writes by anyone but master, and a role table refuses an
 * operation none of the caller's roles allows at all. Everything else is the service's to enforce,
 * with the caller's username and id, which every call carries.
 */
/** The permission-table operation of each hook operation on an external collection. */
const EXTERNAL_OPERATION: Readonly<Record<HookOperation, Operation>> = {
  fetch: 'read',
  insert: 'create',
  update: 'update',
  delete: 'delete',
  login: 'read',
};

export function externalCollectionRoutes(businessLogic: BusinessLogicRuntime, baasUrl: string): Router {
  const router = Router({ mergeParams: true });

  router.use((req, res, next) => {
    const app = appOf(res);
    const collection = checkAppdataCollection(String(req.params.collection));
    const source = businessLogic.externalCollection(app.appKey, collection);
    if (!source) return next('router');
    localsOf(res).external = { source, collection };
    next();
  });

  /** Before any hook: the data source, the read-only check and the service's call context. */
  const targetOf =
    (operation: HookOperation, id: (req: Request) => string | undefined) =>
    (req: Request, res: Response): HookTarget & { source: FlexDataSource; ctx: FlexDataContext } => {
      const external = localsOf(res).external;
      if (!external) throw new Error('an external collection route ran without its data source');
      const { source, collection } = external;
      const routePath = String((req as { route?: { path?: string } }).route?.path ?? '');
      localsOf(res).metricsRoute = `/appdata/:appKey/:collection${routePath === '/' ? '' : routePath}`;
      const app = appOf(res);
      const principal = principalOf(res);
      const permissions = collectionPermissions(app, collection);
      if (operation !== 'fetch' && principal.kind !== 'master' && permissions === 'read-only') {
        throw errors.insufficientCredentials(`Collection ${collection} is read-only.`);
      }
      // A role table: the service holds the entities (no _acl to check here), so only whether any
      // of the caller's roles allows the operation at all.
      if (typeof permissions !== 'string' && !mayEver(principal, permissions, EXTERNAL_OPERATION[operation])) {
        throw errors.insufficientCredentials(`You do not have access to ${operation} entities in ${collection}.`);
      }
      const entityId = id(req);
      const view = blRequestOf(req, res, { collectionName: collection });
      const ctx: FlexDataContext = {
        app: { appKey: app.appKey, appSecret: app.appSecret, masterSecret: app.masterSecret, baasUrl },
        username: principal.kind === 'user' ? principal.username : '',
        userId: principal.kind === 'user' ? principal.userId : '',
        headers: view.headers,
      };
      return { collection, source, ctx, ...(entityId === undefined ? {} : { entityId }) };
    };

  const route = (
    operation: HookOperation,
    id: (req: Request) => string | undefined,
    act: (
      source: FlexDataSource,
      ctx: FlexDataContext,
      input: { body: unknown; params: Record<string, string> },
      req: Request,
    ) => Promise<{ status: number; body: unknown }>,
  ) =>
    hookedRoute(
      businessLogic.hooks,
      operation,
      targetOf(operation, id),
      async ({ body, params }, { source, ctx }, req) => {
        const answer = await act(source, ctx, { body, params: stringParams(params) }, req);
        return { status: answer.status, headers: {}, body: answer.body };
      },
    );

  const none = () => undefined;
  const byId = (req: Request) => String(req.params.id);
  router.get(
    '/_count',
    route('fetch', none, (s, ctx, { params }) => s.count(ctx, params)),
  );
  router.all(['/_group', '/_deltaset'], () => {
    throw errors.featureUnavailable(
      'Aggregations and delta sets are not available on external (Flex-backed) collections.',
    );
  });
  router.get(
    '/',
    route('fetch', none, (s, ctx, { params }) => s.list(ctx, params)),
  );
  router.get(
    '/:id',
    route('fetch', byId, (s, ctx, _input, req) => s.get(ctx, byId(req))),
  );
  router.post(
    '/',
    route('insert', none, (s, ctx, { body }) => s.create(ctx, requireBody(body))),
  );
  router.put(
    '/:id',
    route('update', byId, (s, ctx, { body }, req) => s.replace(ctx, byId(req), requireBody(body))),
  );
  router.delete(
    '/:id',
    route('delete', byId, (s, ctx, _input, req) => s.remove(ctx, byId(req))),
  );
  router.delete(
    '/',
    route('delete', none, (s, ctx, { params }) => {
      if (params.query === undefined) throw errors.missingQuery('Deleting by query needs a query parameter.');
      return s.removeMatching(ctx, params);
    }),
  );
  return router;
}
