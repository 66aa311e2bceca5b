import express, { type Express } from 'express';
import type { Runtime } from './runtime';
import { appdataRoutes } from './http/routes/appdata/appdata.routes';
import { handshakeRoutes } from './http/routes/handshake/handshake.routes';
import { localStorageRoutes, uploadRoutes } from './http/routes/storage/storage.routes';
import { variantRoutes } from './http/routes/blob/variant.routes';
import { cors } from './http/middleware/cors';
import { errorHandler, notFound } from './http/middleware/errors';
import { requestContext } from './http/middleware/request-context';
import { accessLog } from './http/middleware/access-log';
import { requireJsonBody } from './http/middleware/json-body';
import type { SessionVerifier } from './http/middleware/auth';
import { mfaRoutes } from './http/routes/user/mfa.routes';
import { LoginPipeline } from './http/login-pipeline';
import { roleRoutes } from './http/routes/roles/roles.routes';
import { groupRoutes } from './http/routes/group/group.routes';
import { rpcRoutes } from './http/routes/rpc/rpc.routes';
import { accountRoutes } from './http/routes/account/account.routes';
import { unavailableRoutes } from './http/routes/unavailable/unavailable.routes';
import { userRoutes } from './http/routes/user/user.routes';
import { retryAfterHeader } from './http/middleware/retry-after';
import { blobRoutes } from './http/routes/blob/blob.routes';
import { stripFileReferences } from './domain/files/kinvey-file-refs';
import { fileLinkParams, referencePresenter } from './http/presenters/file-references';
import { expansionAwareJson } from './http/presenters/expansion-json';
import { externalCollectionRoutes } from './http/routes/appdata/external-collection.routes';
import { metricsRoutes, requestMetrics } from './http/routes/metrics/metrics.routes';
import { consoleOrigins, consoleRoutes } from './http/routes/console/console.routes';
import { adminRoutes } from './http/routes/admin/admin.routes';
import { healthRoutes } from './http/routes/health/health.routes';

export interface AppOptions {
  /** Where the built console lives (server.ts passes dist/console); no /console routes without it. */
  readonly consoleDir?: string;
}

/**
 * Builds the Express app on a runtime (runtime.ts builds every service): middleware order and
 * routers only. Never reads the environment, never listens, starts nothing.
 */
export function createApp(runtime: Runtime, options: AppOptions = {}): Express {
  const { config, apps, metrics, clock, businessLogic } = runtime;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  expansionAwareJson(app);

  const hooks = businessLogic.hooks;
  // Sessions, and every proof of a password (login, Basic user credentials), with the login hooks.
  const logins = new LoginPipeline(runtime.users, hooks);
  const sessions: SessionVerifier = logins;

  // Probes first: no CORS, no body parsing, no app key; answered even while an app's routes are busy.
  app.use(healthRoutes(runtime.readiness));
  app.use(requestMetrics(metrics));
  app.use(requestContext(runtime.writeClock));
  app.use(accessLog(runtime.logger));
  app.use(cors);
  // The local backend serves its own signed upload/download URLs, the S3 backend its upload URLs
  // (bytes streamed on into the bucket); upload bodies are streamed raw, so these routes come
  // before the JSON parser.
  if (runtime.selfServedObjects) app.use(localStorageRoutes(runtime.selfServedObjects));
  else if (runtime.uploadReceiver) app.use(uploadRoutes(runtime.uploadReceiver));
  // The pages of account mails' links take HTML form bodies, so they too come before the JSON parser.
  app.use(accountRoutes({ apps, recovery: runtime.recovery }));
  // Kinvey SDKs send Content-Type: application/json on every request, also GET/DELETE without body.
  app.use(express.json({ limit: config.bodyLimit, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(requireJsonBody);

  const defaultHttps = config.publicUrl.startsWith('https:');
  const present = referencePresenter(runtime.fileReferences, clock);
  app.use(fileLinkParams(config.downloadUrlTtlSeconds, defaultHttps, runtime.apps));

  app.use(metricsRoutes(metrics, apps, config.metricsToken));
  if (config.console && options.consoleDir)
    app.use(consoleRoutes(options.consoleDir, consoleOrigins(config.publicUrl, config.storage)));
  app.use(handshakeRoutes(apps, sessions));
  app.use(
    appdataRoutes({
      apps,
      sessions,
      entities: runtime.entities,
      present,
      aggregations: runtime.aggregations,
      deltaSets: runtime.deltaSets,
      hooks,
      externalCollections: externalCollectionRoutes(businessLogic, config.publicUrl),
    }),
  );
  app.use(
    userRoutes({
      apps,
      sessions,
      users: runtime.users,
      aggregations: runtime.aggregations,
      present,
      prepareBody: stripFileReferences,
      hooks,
      logins,
    }),
  );
  app.use(mfaRoutes({ apps, sessions, users: runtime.users, mfa: runtime.mfa, present }));
  app.use(rpcRoutes({ apps, sessions, notices: runtime.notices, collections: runtime.collections, businessLogic }));
  app.use(groupRoutes({ apps, sessions, groups: runtime.groups }));
  app.use(roleRoutes({ apps, sessions, roles: runtime.roles }));
  app.use(
    adminRoutes({
      apps,
      sessions,
      config,
      catalog: runtime.catalog,
      businessLogic,
      startedAt: runtime.startedAt,
      clock,
    }),
  );
  app.use(variantRoutes({ apps, files: runtime.files, defaultHttps }));
  app.use(
    blobRoutes({
      apps,
      sessions,
      files: runtime.files,
      clock,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      defaultHttps,
      hooks,
    }),
  );

  app.use(unavailableRoutes(apps, sessions));

  app.use(notFound);
  app.use(retryAfterHeader);
  app.use(errorHandler(runtime.logger));
  return app;
}
