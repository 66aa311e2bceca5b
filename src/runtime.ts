/**
 * The one object graph: every service, cache and background job of a kinbase instance, built once
 * from the config and the opened stores. The server (server.ts), the test app
 * (test/support/test-app.ts) and the benches build through it, so they run the same graph;
 * `createApp(runtime)` only wires HTTP on top. `close()` stops everything the runtime holds.
 */
import type { Logger } from 'pino';
import type { Config } from './config/load-config';
import type { AppRegistry } from './domain/apps/app-registry';
import { deltaSetCollections } from './domain/apps/app-registry';
import { CollectionCatalog } from './domain/apps/collection-catalog';
import type { DocumentStore, ObjectStore, SharedLogs } from './domain/ports';
import { AggregationService } from './domain/appdata/aggregation.service';
import { CollectionRemover } from './domain/appdata/collection-removal';
import { DeletionLog } from './domain/appdata/deletion-log';
import { DeltaSetService } from './domain/appdata/delta-sets';
import { EntitiesService } from './domain/appdata/entities.service';
import { MonotonicClock } from './domain/appdata/monotonic-clock';
import { FilesService, type Warn } from './domain/files/files.service';
import { FileReferenceResolver } from './domain/files/reference-resolver';
import { ImageVariants } from './domain/files/images/image-variants.service';
import { SharpImageEngine } from './stores/images/sharp.image-engine';
import { stripFileReferences } from './domain/files/kinvey-file-refs';
import { createEnvironmentGroups } from './domain/groups/environment-groups';
import { GroupsService } from './domain/groups/groups.service';
import { RolesService } from './domain/roles/roles.service';
import { MfaService } from './domain/mfa/mfa.service';
import { MemorySharedState } from './domain/memory-shared-state';
import { Readiness } from './domain/readiness';
import { DEFAULT_SESSION_CACHE, SessionCache } from './domain/sessions/session-cache';
import { PasswordHasher } from './domain/users/passwords';
import { UserNoticesService } from './domain/users/user-rpc';
import { AccountLinks } from './domain/users/account-links';
import { AccountRecovery } from './domain/users/account-recovery';
import { INITIATION_LIMITS, InitiationThrottle } from './domain/users/initiation-limits';
import { MailOutbox } from './domain/mail/outbox';
import { createSmtpTransport } from './stores/mail/smtp.mail-transport';
import { UsersService } from './domain/users/users.service';
import { observedFactory, usesInternalCode } from './business-logic/app-functions';
import { EndpointScheduler } from './business-logic/endpoints/scheduler';
import { FlexClient } from './business-logic/flex/flex-client';
import { functionFactory } from './business-logic/function-factory';
import { BusinessLogicRuntime } from './business-logic/runtime';
import { Sandbox } from './business-logic/sandbox/sandbox';
import { countingDocumentStore } from './stores/decorators/counting.document-store';
import { SignedUrlCache } from './stores/decorators/signed-url-cache';
import { InFlightLimit, limitDocumentStore, limitObjectStore } from './stores/decorators/in-flight-limit';
import type { OpenedObjectStore } from './stores';
import { systemClock, type Clock } from './internal/clock';
import { Metrics } from './internal/metrics';
import { ScryptWorkers } from './internal/scrypt-workers';

export interface RuntimeDeps {
  readonly config: Config;
  readonly apps: AppRegistry;
  /** Taken over: `close()` closes it. */
  readonly documents: DocumentStore;
  /** As `createObjectStore` opened it; taken over: `close()` closes it (md5 workers, RSA signer pool). */
  readonly objects: OpenedObjectStore;
  readonly logger: Logger;
  /**
   * The clock of every service and cache built here (tests pass a TestClock); the wall clock by
   * default. The object store took its own when it was opened.
   */
  readonly clock?: Clock;
  /**
   * Whether `start()` starts the sweeper of abandoned uploads (default true). A cluster starts it
   * in one worker only: a sweep is machine-wide work, and one is enough.
   */
  readonly sweepsUploads?: boolean;
}

/** Everything a kinbase instance runs on; see `buildRuntime`. */
export interface Runtime {
  readonly config: Config;
  readonly apps: AppRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** When this runtime was built (the admin overview's start time). */
  readonly startedAt: Date;
  /** Where every count goes (GET /metrics serves it): requests, store round trips, caches, Business Logic calls. */
  readonly metrics: Metrics;
  /** The document store as the services use it: every call counted for the request that made it. */
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  /** Set when the object backend serves its own signed URLs (local disk): the storage routes serve it. */
  readonly selfServedObjects: OpenedObjectStore['selfServed'];
  /** Set when only the upload URLs point at kinbase (S3): the upload route serves them. */
  readonly uploadReceiver: OpenedObjectStore['uploadReceiver'];
  /** Stamps every _kmd.lmt and X-Kinvey-Request-Start, so delta sets compare them exactly. */
  readonly writeClock: MonotonicClock;
  readonly sessionCache: SessionCache;
  readonly groups: GroupsService;
  readonly roles: RolesService;
  readonly mfa: MfaService;
  readonly users: UsersService;
  readonly files: FilesService;
  readonly fileReferences: FileReferenceResolver;
  readonly deletions: DeletionLog;
  readonly entities: EntitiesService;
  readonly deltaSets: DeltaSetService;
  readonly aggregations: AggregationService;
  readonly notices: UserNoticesService;
  /** What the links of account mails do: the reset and verification pages call it. */
  readonly recovery: AccountRecovery;
  /** The queue of account mails; null when mail is off (no KINBASE_SMTP_URL). */
  readonly mailOutbox: MailOutbox | null;
  readonly collections: CollectionRemover;
  readonly catalog: CollectionCatalog;
  /** Runs the apps' internal Business Logic; its isolates start on first use. */
  readonly sandbox: Sandbox;
  readonly businessLogic: BusinessLogicRuntime;
  /** GET /readyz: both stores answer, and the instance is not draining (server.ts drains it on SIGTERM). */
  readonly readiness: Readiness;
  /**
   * Starts the background work of a serving instance: creates the groups of the apps' environment
   * files, starts the endpoint scheduler and the sweeper of abandoned uploads, and warms one
   * isolate per app with internal code. Tests build a runtime without starting it.
   */
  start(): Promise<void>;
  /**
   * Stops everything: the sweeper and the scheduler first (a scheduled run in flight ends), then
   * the isolates, the scrypt workers and both stores (MD5 workers, RSA signer pool). Never throws.
   */
  close(): Promise<void>;
}

/** Builds the object graph. Starts no background work (see `Runtime.start`) and never listens. */
export function buildRuntime(deps: RuntimeDeps): Runtime {
  const { config, apps, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = new Metrics();
  // At most so many calls in flight per store: a slow or hung one gets 503s past that, not a pile-up.
  const documentCalls = new InFlightLimit('document store', config.maxInFlight.documents);
  const objectCalls = new InFlightLimit('object store', config.maxInFlight.objects);
  // A bucket call is answered within twice its request timeout (one retry), whatever the library does.
  const objectDeadline = config.storage.kind === 'gcs' ? 2 * (config.storage.timeoutMs ?? 8000) : undefined;
  const objects = limitObjectStore(deps.objects.store, objectCalls, objectDeadline);
  // A MongoDB call is answered within the bound docs/several-instances.md gives (the socket timeout
  // twice, for the driver's one retry, plus server selection), whatever the driver does meanwhile.
  const documentTimeout = config.documents.kind === 'mongodb' ? (config.documents.timeoutMs ?? 8000) : undefined;
  const documentDeadline =
    documentTimeout === undefined ? undefined : 2 * documentTimeout + Math.min(3000, documentTimeout);
  const limitedDocuments = limitDocumentStore(deps.documents, documentCalls, documentDeadline);
  // Every document store call of a request is counted for it (kinbase_store_round_trips_per_request).
  const documents = countingDocumentStore(limitedDocuments, (operation) => metrics.storeCall(operation));
  // Sessions resolved on this instance are served from memory for a few seconds; every change made
  // here that ends a session or changes memberships evicts at once (session-cache.ts).
  const sessionCache = new SessionCache({
    ttlMs: config.sessionCacheTtlMs,
    maxEntries: DEFAULT_SESSION_CACHE.maxEntries,
    clock,
    observe: (outcome) => metrics.sessionCacheLookup(outcome),
  });
  // Counters and logs every instance on this document store shares (failed logins, MFA codes,
  // Business Logic failures); in this process's memory only for a store that offers none.
  const shared = limitedDocuments.sharedState?.(clock) ?? new MemorySharedState({ clock });
  const writeClock = new MonotonicClock(clock);
  const stampWrite = () => writeClock.stampWrite();
  const scrypt = new ScryptWorkers();
  const groups = new GroupsService(documents, stampWrite, (appKey) => sessionCache.evictApp(appKey));
  const mfa = new MfaService(documents, {
    clock,
    counters: shared.counters,
    issuer: (appKey) => apps.get(appKey)?.name ?? 'kinbase',
  });
  // Account mails: queued (never awaited by a request) when mail is on; the links are kept hashed.
  const mailOutbox = config.mail
    ? new MailOutbox(createSmtpTransport(config.mail), { warn: (context, message) => logger.warn(context, message) })
    : null;
  const links = new AccountLinks(documents, clock);
  const notices = new UserNoticesService(documents, {
    clock,
    links,
    throttle: new InitiationThrottle(INITIATION_LIMITS, clock),
    mail: mailOutbox
      ? {
          outbox: mailOutbox,
          publicUrl: config.publicUrl,
          resetTtlSeconds: config.accountLinks.resetTtlSeconds,
          verifyTtlSeconds: config.accountLinks.verifyTtlSeconds,
        }
      : null,
  });
  const roles = new RolesService(documents, stampWrite, (appKey) => sessionCache.evictApp(appKey));
  const users = new UsersService(documents, groups, {
    roles,
    clock,
    counters: shared.counters,
    stampWrite,
    passwords: new PasswordHasher(scrypt),
    secondFactor: mfa,
    sessionCache,
    emailVerificationRequired: (appKey) => apps.get(appKey)?.accounts?.emailVerification.required === true,
    // settings.emailVerification.auto: a failure to start the mail never fails the signup.
    onSignup: async (appKey, user) => {
      const app = apps.get(appKey);
      if (!app) return;
      await notices
        .verifyAtSignup(app, user)
        .catch((err: unknown) => logger.warn({ err, appKey }, 'starting the verification mail of a signup failed'));
    },
  });
  const recovery = new AccountRecovery(
    documents,
    links,
    (appKey, userId, password) => users.setPassword(appKey, userId, password),
    clock,
  );
  const warn: Warn = (context, message) => logger.warn(context, message);
  // Every download URL is signed through one cache: quantised expiries make repeats free.
  const signedObjects = new SignedUrlCache(objects, { observe: (outcome) => metrics.signedUrlLookup(outcome), clock });
  // Image placeholders and variants: sharp behind one small gate, results kept in the stores.
  const images = new ImageVariants(documents, signedObjects, new SharpImageEngine(), {
    publicUrl: config.publicUrl,
    warn,
  });
  const files = new FilesService(documents, signedObjects, {
    images,
    uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
    pendingUploadTtlSeconds: config.pendingUploadTtlSeconds,
    appKeys: () => apps.list().map((a) => a.appKey),
    clock,
    stampWrite,
    warn,
    pendingUploadChecked: (outcome) => metrics.pendingUploadCheck(outcome),
  });
  // Tombstones for delta sets: every deletion in a collection with `deltaSet: true` goes through it.
  const deletions = new DeletionLog(documents, {
    clock,
    writeClock,
    retentionDays: config.deltaSetRetentionDays,
    trackedCollections: (appKey) => deltaSetCollections(apps.get(appKey)),
  });
  // KinveyFile references: stripped to {_type,_id} on every save, resolved on every read.
  const entities = new EntitiesService(documents, writeClock, stripFileReferences, deletions);
  // The sandbox and the scheduler use the store uncounted: their calls belong to no request.
  const sandbox = createSandbox(config, limitedDocuments, logger);
  const businessLogic = createBusinessLogic(config, apps, sandbox, metrics, shared.logs, logger);
  const scheduler = new EndpointScheduler({
    documents: limitedDocuments,
    logger,
    clock,
    run: async (appKey, endpoint, tick) => void (await businessLogic.runScheduled(appKey, endpoint, tick)),
  });
  let sweeper: NodeJS.Timeout | undefined;
  let started = false;

  const start = async (): Promise<void> => {
    if (started) throw new Error('the runtime is already started');
    started = true;
    for (const definition of apps.list()) {
      const created = await createEnvironmentGroups(definition, groups);
      if (created.length > 0)
        logger.info({ appKey: definition.appKey, groups: created }, 'created the groups of the environment file');
      const createdRoles = await roles.createEnvironmentRoles(definition);
      if (createdRoles.length > 0)
        logger.info({ appKey: definition.appKey, roles: createdRoles }, 'created the roles of the environment file');
    }
    scheduler.start(apps.list());
    // One warm isolate per app with internal code, so its first request does not start one.
    for (const definition of apps.list()) if (usesInternalCode(definition)) void sandbox.warm(definition.appKey);
    // Uploads whose bytes never arrive are cleaned up in the background; unref'd so it never keeps
    // the process alive, and a failed sweep is only logged (the next one retries).
    if (deps.sweepsUploads === false) return;
    const sweepEveryMs = Math.min(config.pendingUploadTtlSeconds * 1000, 3_600_000) / 4;
    sweeper = setInterval(() => {
      files.sweepPendingUploads().then(
        (swept) => logger.debug({ swept }, 'swept pending uploads'),
        (err: unknown) => logger.warn({ err }, 'sweeping pending uploads failed'),
      );
    }, sweepEveryMs).unref();
  };

  const close = async (): Promise<void> => {
    if (sweeper) clearInterval(sweeper);
    if (started)
      await scheduler.stop().catch((err: unknown) => logger.warn({ err }, 'stopping the endpoint scheduler failed'));
    // Mails already queued get a few seconds to go out before the pool closes.
    if (mailOutbox) {
      await Promise.race([mailOutbox.idle(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      mailOutbox.close();
    }
    await Promise.allSettled([sandbox.close(), scrypt.close(), deps.documents.close(), deps.objects.store.close()]);
  };

  return {
    config,
    apps,
    logger,
    clock,
    startedAt: clock(),
    metrics,
    documents,
    objects,
    selfServedObjects: deps.objects.selfServed,
    uploadReceiver: deps.objects.uploadReceiver,
    writeClock,
    sessionCache,
    groups,
    roles,
    mfa,
    users,
    files,
    deletions,
    entities,
    fileReferences: new FileReferenceResolver(files, warn, (expanded, bare) => metrics.fileReferences(expanded, bare)),
    deltaSets: new DeltaSetService(entities, deletions),
    aggregations: new AggregationService(documents),
    notices,
    recovery,
    mailOutbox,
    collections: new CollectionRemover(documents, deletions, (appKey) => sessionCache.evictApp(appKey)),
    catalog: new CollectionCatalog(documents),
    sandbox,
    businessLogic,
    readiness: new Readiness(limitedDocuments, objects, () => apps.list()[0]?.appKey ?? 'kinbase'),
    start,
    close,
  };
}

/** The sandbox for internal Business Logic, with the configured limits; its isolates start on first use. */
function createSandbox(config: Config, documents: DocumentStore, logger: Logger): Sandbox {
  const { timeoutMs, memoryMb, isolatesPerApp } = config.businessLogic;
  return new Sandbox({ documents, logger, limits: { timeoutMs, memoryMb, isolatesPerApp } });
}

/** Business Logic for these apps: internal code in the sandbox, external code in Flex services; every call counted. */
function createBusinessLogic(
  config: Config,
  apps: AppRegistry,
  sandbox: Sandbox,
  metrics: Metrics,
  logs: SharedLogs,
  logger: Logger,
): BusinessLogicRuntime {
  const flex = new FlexClient({ timeoutMs: config.businessLogic.flexTimeoutMs });
  const factory = functionFactory({ sandbox, flex, baasUrl: config.publicUrl });
  return new BusinessLogicRuntime(
    apps.list(),
    observedFactory(factory, (kind, fn, outcome) => metrics.businessLogicCall(kind, fn, outcome)),
    { logs, onLostError: (err) => logger.warn({ err }, 'a Business Logic failure could not be recorded') },
  );
}
