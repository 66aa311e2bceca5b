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
import { hookedCall, inputOf, ok, requireBody, sendBlResponse, skipsBusinessLogic } from '../../business-logic';
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
export function appdataRoutes({ apps, sessions, entities, present, aggregations, deltaSets, hooks, externalCollections }: AppdataRoutesDeps): Router {
  const router = Router();
  const base = '/appdata/:appKey/:collection';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));
  if (externalCollections) router.use(base, externalCollections);

  router.get(`${base}/_count`, async (req, res) => {
    const ctx = contextOf(req, res);
    markReadStart(res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'fetch'), inputOf(req), async ({ params }) =>
      ok({ count: await entities.count(ctx, parseFilterParam(params.query)) })));
  });

  // An aggregation reads the collection: its fetch hooks run around it, so a field an
  // onPostFetch hook keeps from readers cannot be read back through the groups' keys instead.
  router.post(`${base}/_group`, async (req, res) => {
    const ctx = contextOf(req, res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'fetch'), inputOf(req), async ({ body }) =>
      ok(await aggregations.groupEntities(ctx, requireBody(body)))));
  });

  router.get(`${base}/_deltaset`, async (req, res) => {
    const start = requestStartOf(res);
    const ctx = contextOf(req, res);
    // A delta set lists changes, not what fetch hooks make of entities: with such hooks it is
    // refused, and the SDKs fall back to a full (hooked) read on MissingConfiguration.
    const fetchHooks = hooks.hooksFor(ctx.scope.appKey, ctx.scope.collection, 'fetch');
    if (!skipsBusinessLogic(req, res) && fetchHooks.pre.length + fetchHooks.post.length > 0) {
      throw errors.missingConfiguration(`Collection ${ctx.scope.collection} has fetch hooks (Business Logic), so it serves no delta sets; read it with a query instead.`);
    }
    const delta = await deltaSets.changesSince(ctx, req.query.since, parseListQuery(req.query), start);
    // The SDKs keep this header as the `since` of their next delta set.
    markReadStart(res);
    res.json({ changed: await present(delta.changed, req, ctx.principal), deleted: delta.deleted.map((_id) => ({ _id })) });
  });

  router.get(base, async (req, res) => {
    const ctx = contextOf(req, res);
    markReadStart(res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'fetch'), inputOf(req), async ({ params }) => {
      const query = parseListQuery(params);
      const docs = await entities.list(ctx, query);
      if (req.get('x-kinvey-include-items-count') === 'true') {
        res.setHeader('X-Kinvey-Items-Count', String(await entities.count(ctx, query.filter)));
      }
      return ok(await present(docs, req, ctx.principal));
    }));
  });

  router.get(`${base}/:id`, async (req, res) => {
    const ctx = contextOf(req, res);
    const id = String(req.params.id);
    markReadStart(res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'fetch', id), inputOf(req), async () =>
      ok((await present([await entities.get(ctx, id)], req, ctx.principal))[0])));
  });

  router.post(base, async (req, res) => {
    const ctx = contextOf(req, res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'insert'), inputOf(req), async ({ body }) => {
      if (Array.isArray(body)) {
        if (apiVersionOf(req) < 5) throw errors.featureUnavailable('Inserting multiple entities is not available in this Kinvey API version.');
        const result = await entities.createMany(ctx, body);
        const saved = await present(result.entities.filter((e): e is StoredDocument => e !== null), req, ctx.principal);
        let next = 0;
        const shown = result.entities.map((e) => (e === null ? null : saved[next++]));
        return ok({ entities: shown, errors: result.errors }, result.errors.length ? 207 : 201);
      }
      const doc = await entities.create(ctx, requireBody(body));
      res.location(entityLocation(req, doc._id));
      return ok((await present([doc], req, ctx.principal))[0], 201);
    }));
  });

  router.put(`${base}/:id`, async (req, res) => {
    const ctx = contextOf(req, res);
    const id = String(req.params.id);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'update', id), inputOf(req), async ({ body }) => {
      const { entity, created } = await entities.replace(ctx, id, requireBody(body));
      if (created) res.location(entityLocation(req, entity._id));
      return ok((await present([entity], req, ctx.principal))[0], created ? 201 : 200);
    }));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const ctx = contextOf(req, res);
    const id = String(req.params.id);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'delete', id), inputOf(req), async () =>
      ok({ count: await entities.remove(ctx, id) })));
  });

  router.delete(base, async (req, res) => {
    const ctx = contextOf(req, res);
    sendBlResponse(res, await hooks.run(hookedCall(req, res, ctx.scope.collection, 'delete'), inputOf(req), async ({ params }) => {
      if (params.query === undefined) throw errors.missingQuery('Deleting by query needs a query parameter; use {} to delete every entity you may delete.');
      return ok({ count: await entities.removeMatching(ctx, parseFilterParam(params.query)) });
    }));
  });

  return router;
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
