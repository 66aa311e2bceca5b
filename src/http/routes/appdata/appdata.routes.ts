import { Router, type Request, type Response } from 'express';
import type { AggregationService } from '../../../domain/appdata/aggregation.service';
import { collectionPermissions, type AppRegistry } from '../../../domain/apps/app-registry';
import type { DeltaSetService } from '../../../domain/appdata/delta-sets';
import type { EntitiesService, EntityContext } from '../../../domain/appdata/entities.service';
import { checkAppdataCollection } from '../../../domain/appdata/entity-fields';
import { errors } from '../../../domain/errors';
import type { Principal } from '../../../domain/access/principal';
import { parseFilterParam, parseListQuery } from '../../../domain/query/parse-query';
import type { StoredDocument } from '../../../domain/ports';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { apiVersionOf, requestStartOf } from '../../middleware/request-context';
import type { HookPipeline } from '../../../business-logic/hooks/hook-pipeline';
import { ok, requireBody, skipsBusinessLogic } from '../../business-logic';
import { hookedRoute, type HookTarget } from '../../hooked-route';
import { appOf, principalOf } from '../../middleware/locals';

/** Turns stored entities into what the client sees (KinveyFile references are resolved here). */
export type PresentEntities = (docs: StoredDocument[], req: Request, principal: Principal) => Promise<StoredDocument[]>;

export interface AppdataRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  entities: EntitiesService;
  present: PresentEntities;
  aggregations: AggregationService;
  deltaSets: DeltaSetService;
  /** Collection hooks (Business Logic); an app without any takes the plain path. */
  hooks: HookPipeline;
  /** Routes of the app's external (Flex-backed) collections; other collections fall through. */
  externalCollections?: Router;
}

/** `/appdata/:appKey/:collection`: Kinvey's collections API (kinvey-protocol.md §3). */
export function appdataRoutes({
  apps,
  sessions,
  entities,
  present,
  aggregations,
  deltaSets,
  hooks,
  externalCollections,
}: AppdataRoutesDeps): Router {
  const router = Router();
  const base = '/appdata/:appKey/:collection';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));
  if (externalCollections) router.use(base, externalCollections);

  // Each route names its hook operation once; the target (collection, entity, and the checked
  // entity context) is worked out before any hook runs.
  const entity = (req: Request, res: Response): EntityTarget => target(req, res, false);
  const read = (req: Request, res: Response): EntityTarget => target(req, res, true);

  router.get(
    `${base}/_count`,
    hookedRoute(hooks, 'fetch', read, async ({ params }, { ctx }) =>
      ok({ count: await entities.count(ctx, parseFilterParam(params.query)) }),
    ),
  );

  // An aggregation reads the collection: its fetch hooks run around it, so a field an
  // onPostFetch hook keeps from readers cannot be read back through the groups' keys instead.
  router.post(
    `${base}/_group`,
    hookedRoute(hooks, 'fetch', entity, async ({ body }, { ctx }) =>
      ok(await aggregations.groupEntities(ctx, requireBody(body))),
    ),
  );

  router.get(`${base}/_deltaset`, async (req, res) => {
    const start = requestStartOf(res);
    const ctx = contextOf(req, res);
    // A delta set lists changes, not what fetch hooks make of entities: with such hooks it is
    // refused, and the SDKs fall back to a full (hooked) read on MissingConfiguration.
    const fetchHooks = hooks.hooksFor(ctx.scope.appKey, ctx.scope.collection, 'fetch');
    if (!skipsBusinessLogic(req, res) && fetchHooks.pre.length + fetchHooks.post.length > 0) {
      throw errors.missingConfiguration(
        `Collection ${ctx.scope.collection} has fetch hooks (Business Logic), so it serves no delta sets; read it with a query instead.`,
      );
    }
    const delta = await deltaSets.changesSince(ctx, req.query.since, parseListQuery(req.query), start);
    // The SDKs keep this header as the `since` of their next delta set.
    markReadStart(res);
    res.json({
      changed: await present(delta.changed, req, ctx.principal),
      deleted: delta.deleted.map((_id) => ({ _id })),
    });
  });

  router.get(
    base,
    hookedRoute(hooks, 'fetch', read, async ({ params }, { ctx }, req, res) => {
      const query = parseListQuery(params);
      const docs = await entities.list(ctx, query);
      if (req.get('x-kinvey-include-items-count') === 'true') {
        res.setHeader('X-Kinvey-Items-Count', String(await entities.count(ctx, query.filter)));
      }
      return ok(await present(docs, req, ctx.principal));
    }),
  );

  router.get(
    `${base}/:id`,
    hookedRoute(hooks, 'fetch', read, async (_input, { ctx, id }, req) =>
      ok((await present([await entities.get(ctx, id)], req, ctx.principal))[0]),
    ),
  );

  router.post(
    base,
    hookedRoute(hooks, 'insert', entity, async ({ body }, { ctx }, req, res) => {
      if (Array.isArray(body)) {
        if (apiVersionOf(req) < 5)
          throw errors.featureUnavailable('Inserting multiple entities is not available in this Kinvey API version.');
        const result = await entities.createMany(ctx, body);
        const saved = await present(
          result.entities.filter((e): e is StoredDocument => e !== null),
          req,
          ctx.principal,
        );
        let next = 0;
        const shown = result.entities.map((e) => (e === null ? null : saved[next++]));
        return ok({ entities: shown, errors: result.errors }, result.errors.length ? 207 : 201);
      }
      const doc = await entities.create(ctx, requireBody(body));
      res.location(entityLocation(req, doc._id));
      return ok((await present([doc], req, ctx.principal))[0], 201);
    }),
  );

  router.put(
    `${base}/:id`,
    hookedRoute(hooks, 'update', entity, async ({ body }, { ctx, id }, req, res) => {
      const { entity: saved, created } = await entities.replace(ctx, id, requireBody(body));
      if (created) res.location(entityLocation(req, saved._id));
      return ok((await present([saved], req, ctx.principal))[0], created ? 201 : 200);
    }),
  );

  router.delete(
    `${base}/:id`,
    hookedRoute(hooks, 'delete', entity, async (_input, { ctx, id }) => ok({ count: await entities.remove(ctx, id) })),
  );

  router.delete(
    base,
    hookedRoute(hooks, 'delete', entity, async ({ params }, { ctx }) => {
      if (params.query === undefined)
        throw errors.missingQuery(
          'Deleting by query needs a query parameter; use {} to delete every entity you may delete.',
        );
      return ok({ count: await entities.removeMatching(ctx, parseFilterParam(params.query)) });
    }),
  );

  return router;
}

/** A hooked appdata route's target: the collection, the `:id` entity if any, and the entity context. */
interface EntityTarget extends HookTarget {
  ctx: EntityContext;
  /** `:id` (the empty string on routes without one; those never read it). */
  id: string;
}

/** Checks the collection name (400 before any hook); a read also takes its X-Kinvey-Request-Start here, before its hooks, as it always did. */
function target(req: Request, res: Response, reads: boolean): EntityTarget {
  const ctx = contextOf(req, res);
  const id = req.params.id === undefined ? undefined : String(req.params.id);
  if (reads) markReadStart(res);
  return { collection: ctx.scope.collection, ctx, id: id ?? '', ...(id === undefined ? {} : { entityId: id }) };
}

function contextOf(req: Request, res: Response): EntityContext {
  const app = appOf(res);
  const collection = checkAppdataCollection(String(req.params.collection));
  return {
    scope: { appKey: app.appKey, collection },
    principal: principalOf(res),
    permissions: collectionPermissions(app, collection),
    indexes: Object.hasOwn(app.collections, collection) ? app.collections[collection]?.indexes : undefined,
  };
}

/** X-Kinvey-Request-Start: when the server started this read (delta-set and cache stores rely on it). */
function markReadStart(res: Response): void {
  res.setHeader('X-Kinvey-Request-Start', requestStartOf(res).toISOString());
}

function entityLocation(req: Request, id: string): string {
  return `/appdata/${encodeURIComponent(String(req.params.appKey))}/${encodeURIComponent(String(req.params.collection))}/${encodeURIComponent(id)}`;
}
