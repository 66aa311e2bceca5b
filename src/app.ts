import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config/load-config';
import { AppRegistry, deltaSetCollections } from './domain/apps/app-registry';
import type { DocumentStore, ObjectStore } from './domain/ports';
import { AggregationService } from './domain/appdata/aggregation.service';
import { EntitiesService } from './domain/appdata/entities.service';
import { appdataRoutes } from './http/routes/appdata/appdata.routes';
import { handshakeRoutes } from './http/routes/handshake/handshake.routes';
import { localStorageRoutes } from './http/routes/storage/storage.routes';
import { LocalDiskObjectStore } from './stores/objects/local-disk/local-disk.object-store';
import { cors } from './http/middleware/cors';
import { errorHandler, notFound } from './http/middleware/errors';
import { requestContext } from './http/middleware/request-context';
import { accessLog } from './http/middleware/access-log';
import { requireJsonBody } from './http/middleware/json-body';
import type { SessionVerifier } from './http/middleware/auth';
import { GroupsService } from './domain/groups/groups.service';
import { UserNoticesService } from './domain/users/user-rpc';
import { UsersService } from './domain/users/users.service';
import { MfaService } from './domain/mfa/mfa.service';
import { mfaRoutes } from './http/routes/user/mfa.routes';
import { LoginPipeline } from './http/login-pipeline';
import { groupRoutes } from './http/routes/group/group.routes';
import { rpcRoutes } from './http/routes/rpc/rpc.routes';
import { unavailableRoutes } from './http/routes/unavailable/unavailable.routes';
import { CollectionRemover } from './domain/appdata/collection-removal';
import { DeletionLog } from './domain/appdata/deletion-log';
import { DeltaSetService } from './domain/appdata/delta-sets';
import { MonotonicClock } from './domain/appdata/monotonic-clock';
import { userRoutes } from './http/routes/user/user.routes';
import { retryAfterHeader } from './http/middleware/retry-after';
import { PasswordHasher, type ScryptRunner } from './domain/users/passwords';
import { ScryptWorkers } from './internal/scrypt-workers';
import { FilesService, type Warn } from './domain/files/files.service';
import { blobRoutes } from './http/routes/blob/blob.routes';
import { FileReferenceResolver } from './domain/files/reference-resolver';
import { stripFileReferences } from './domain/files/kinvey-file-refs';
import { fileLinkParams, referencePresenter } from './http/presenters/file-references';
import { SignedUrlCache } from './stores/decorators/signed-url-cache';
import { expansionAwareJson } from './http/presenters/expansion-json';
import { systemClock, type Clock } from './internal/clock';
import { BusinessLogicRuntime } from './business-logic/runtime';
import { functionFactory } from './business-logic/function-factory';
import { FlexClient } from './business-logic/flex/flex-client';
import { Sandbox } from './business-logic/sandbox/sandbox';
import { externalCollectionRoutes } from './http/routes/appdata/external-collection.routes';
import { Metrics } from './internal/metrics';
import { metricsRoutes, requestMetrics } from './http/routes/metrics/metrics.routes';
import { consoleOrigins, consoleRoutes } from './http/routes/console/console.routes';
import { countingDocumentStore } from './stores/decorators/counting.document-store';
import { DEFAULT_SESSION_CACHE, SessionCache } from './domain/sessions/session-cache';
import { observedFactory } from './business-logic/app-functions';
import { adminRoutes } from './http/routes/admin/admin.routes';
import { CollectionCatalog } from './domain/apps/collection-catalog';

export interface AppDeps {
  readonly config: Config;
  readonly apps: AppRegistry;
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  readonly logger: Logger;
  /** Where scrypt runs (server.ts passes the pool it closes on shutdown); a fresh ScryptWorkers pool by default. */
  readonly scrypt?: ScryptRunner;
  /**
   * The clock of every service, cache and object-store decorator built here (tests pass a
   * TestClock); the wall clock by default. The object store takes its own at construction.
   */
  readonly clock?: Clock;
  /**
   * The apps' Business Logic (server.ts passes the one whose sandbox and scheduler it stops on
   * shutdown); by default one is built from the apps with a fresh sandbox, whose isolates start on
   * first use.
   */
  readonly businessLogic?: BusinessLogicRuntime;
  /**
   * Where the app's metrics go (GET /metrics serves them); a fresh registry by default. Pass the
   * one given to createBusinessLogic, so its hook and endpoint calls are counted there too.
   */
  readonly metrics?: Metrics;
  /** Where the built console lives (server.ts passes dist/console); no /console routes without it. */
  readonly consoleDir?: string;
}

type BusinessLogicDeps = Pick<AppDeps, 'apps' | 'documents' | 'logger' | 'config' | 'metrics'>;

/** The sandbox for internal Business Logic, with the configured limits; its isolates start on first use. */
export function createSandbox(deps: Omit<BusinessLogicDeps, 'apps'>): Sandbox {
  const { timeoutMs, memoryMb, isolatesPerApp } = deps.config.businessLogic;
  return new Sandbox({ documents: deps.documents, logger: deps.logger, limits: { timeoutMs, memoryMb, isolatesPerApp } });
}

/** Business Logic for these apps: internal code in the sandbox, external code in Flex services. */
export function createBusinessLogic(deps: BusinessLogicDeps, sandbox = createSandbox(deps)): BusinessLogicRuntime {
  const flex = new FlexClient({ timeoutMs: deps.config.businessLogic.flexTimeoutMs });
  const factory = functionFactory({ sandbox, flex, baasUrl: deps.config.publicUrl });
  const metrics = deps.metrics;
  return new BusinessLogicRuntime(deps.apps.list(), metrics ? observedFactory(factory, (kind, fn, outcome) => metrics.businessLogicCall(kind, fn, outcome)) : factory);
}

/** Builds the Express app from explicit dependencies. Never reads the environment, never listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  const metrics = deps.metrics ?? new Metrics();
  // Every document store call of a request is counted for it (kinbase_store_round_trips_per_request).
  deps = { ...deps, documents: countingDocumentStore(deps.documents, (operation) => metrics.storeCall(operation)) };
  app.set('etag', false);
  app.set('query parser', 'simple');
  expansionAwareJson(app);

  // Sessions resolved on this instance are served from memory for a few seconds; every change made
  // here that ends a session or changes memberships evicts at once (session-cache.ts).
  const clock = deps.clock ?? systemClock;
  const sessionCache = new SessionCache({
    ttlMs: deps.config.sessionCacheTtlMs,
    maxEntries: DEFAULT_SESSION_CACHE.maxEntries,
    clock,
    observe: (outcome) => metrics.sessionCacheLookup(outcome),
  });
  // One clock stamps every _kmd.lmt and X-Kinvey-Request-Start, so delta sets compare them exactly.
  const writeClock = new MonotonicClock(clock);
  const stampWrite = () => writeClock.stampWrite();
  const groups = new GroupsService(deps.documents, stampWrite, (appKey) => sessionCache.evictApp(appKey));
  const mfa = new MfaService(deps.documents, { clock, issuer: (appKey) => deps.apps.get(appKey)?.name ?? 'kinbase' });
  const users = new UsersService(deps.documents, groups, {
    clock, stampWrite, passwords: new PasswordHasher(deps.scrypt ?? new ScryptWorkers()), secondFactor: mfa, sessionCache,
  });
  const businessLogic = deps.businessLogic ?? createBusinessLogic({ ...deps, metrics });
  const hooks = businessLogic.hooks;
  // Sessions, and every proof of a password (login, Basic user credentials), with the login hooks.
  const logins = new LoginPipeline(users, hooks);
  const sessions: SessionVerifier = logins;

  app.use(requestMetrics(metrics));
  app.use(requestContext(writeClock));
  app.use(accessLog(deps.logger));
  app.use(cors);
  // The local backend serves its own signed upload/download URLs; upload bodies are streamed raw,
  // so these routes come before the JSON parser.
  if (deps.objects instanceof LocalDiskObjectStore) app.use(localStorageRoutes(deps.objects));
  // Kinvey SDKs send Content-Type: application/json on every request, also GET/DELETE without body.
  app.use(express.json({ limit: deps.config.bodyLimit, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(requireJsonBody);

  const defaultHttps = deps.config.publicUrl.startsWith('https:');
  const warn: Warn = (context, message) => deps.logger.warn(context, message);
  // Every download URL is signed through one cache: quantised expiries make repeats free.
  const files = new FilesService(deps.documents, new SignedUrlCache(deps.objects, { observe: (outcome) => metrics.signedUrlLookup(outcome), clock }), {
    uploadUrlTtlSeconds: deps.config.uploadUrlTtlSeconds,
    pendingUploadTtlSeconds: deps.config.pendingUploadTtlSeconds,
    appKeys: () => deps.apps.list().map((a) => a.appKey),
    clock,
    stampWrite,
    warn,
    pendingUploadChecked: (outcome) => metrics.pendingUploadCheck(outcome),
  });
  // KinveyFile references: stripped to {_type,_id} on every save, resolved on every read.
  const present = referencePresenter(new FileReferenceResolver(files, warn, (expanded, bare) => metrics.fileReferences(expanded, bare)), clock);
  // Tombstones for delta sets: every deletion in a collection with `deltaSet: true` goes through it.
  const deletions = new DeletionLog(deps.documents, {
    clock, writeClock, retentionDays: deps.config.deltaSetRetentionDays, trackedCollections: (appKey) => deltaSetCollections(deps.apps.get(appKey)),
  });
  const entities = new EntitiesService(deps.documents, writeClock, stripFileReferences, deletions);
  app.use(fileLinkParams(deps.config.downloadUrlTtlSeconds, defaultHttps));

  app.use(metricsRoutes(metrics, deps.apps, deps.config.metricsToken));
  if (deps.config.console && deps.consoleDir) app.use(consoleRoutes(deps.consoleDir, consoleOrigins(deps.config.publicUrl, deps.config.storage)));
  app.use(handshakeRoutes(deps.apps, sessions));
  const aggregations = new AggregationService(deps.documents);
  app.use(appdataRoutes({
    apps: deps.apps, sessions, entities, present, aggregations, deltaSets: new DeltaSetService(entities, deletions),
    hooks, externalCollections: externalCollectionRoutes(businessLogic, deps.config.publicUrl),
  }));
  app.use(userRoutes({ apps: deps.apps, sessions, users, aggregations, present, prepareBody: stripFileReferences, hooks, logins }));
  app.use(mfaRoutes({ apps: deps.apps, sessions, users, mfa, present }));
  app.use(rpcRoutes({ apps: deps.apps, sessions, notices: new UserNoticesService(deps.documents, clock), collections: new CollectionRemover(deps.documents, deletions, (appKey) => sessionCache.evictApp(appKey)), businessLogic }));
  app.use(groupRoutes({ apps: deps.apps, sessions, groups }));
  app.use(adminRoutes({ apps: deps.apps, sessions, config: deps.config, catalog: new CollectionCatalog(deps.documents), businessLogic, startedAt: clock(), clock }));
  app.use(blobRoutes({
    apps: deps.apps, sessions, files, clock,
    downloadUrlTtlSeconds: deps.config.downloadUrlTtlSeconds, defaultHttps, hooks,
  }));

  app.use(unavailableRoutes(deps.apps, sessions));

  app.use(notFound);
  app.use(retryAfterHeader);
  app.use(errorHandler(deps.logger));
  return app;
}
