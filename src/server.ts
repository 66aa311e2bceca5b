/**
 * The process entry point: the only module that reads the environment and listens.
 * env -> loadConfig -> stores -> createApp -> listen; SIGTERM/SIGINT stop it gracefully.
 */
import { createServer } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { createApp, createBusinessLogic, createSandbox } from './app';
import { usesInternalCode } from './business-logic/app-functions';
import { createEnvironmentGroups } from './domain/groups/environment-groups';
import { EndpointScheduler } from './business-logic/endpoints/scheduler';
import { GroupsService } from './domain/groups/groups.service';
import { FilesService } from './domain/files/files.service';
import { ConfigError, loadConfig, type Config } from './config/load-config';
import { AppRegistry } from './domain/apps/app-registry';
import { resolveApps, resolveSigningSecret } from './config/data-dir';
import { createDocumentStore, createObjectStore } from './stores';
import { missingNodeFlags } from './node-flags';
import { ScryptWorkers } from './internal/scrypt-workers';
import { Metrics } from './internal/metrics';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kinbase: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'kinbase' } });
  const missing = missingNodeFlags();
  if (missing.length > 0) {
    logger.warn({ missing }, `started without ${missing.join(' ')}: streaming files will cost much more CPU in garbage collection (npm start passes it; see README "Running")`);
  }

  // Listen before building the app: with PORT=0 and no KINBASE_PUBLIC_URL, the URLs handed to
  // clients must name the port actually bound, not 0.
  const holder: { app?: ReturnType<typeof createApp> } = {};
  const server = createServer((req, res) => {
    if (holder.app) holder.app(req, res);
    else res.writeHead(503).end();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
  } catch (err) {
    process.stderr.write(`kinbase: ${listenProblem(err as NodeJS.ErrnoException, config)}\n`);
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (config.port === 0 && !process.env.KINBASE_PUBLIC_URL) config = { ...config, publicUrl: `http://localhost:${port}` };

  const { apps, generated } = await resolveApps(config);
  const signingSecret = await resolveSigningSecret(config);
  const documents = await createDocumentStore(config.documents, config.dataDir, (line, level = 'info') => logger[level](line));
  const objects = await createObjectStore(config.storage, { dataDir: config.dataDir, publicUrl: config.publicUrl, signingSecret });
  const scrypt = new ScryptWorkers();
  for (const warning of config.startupWarnings) logger.warn(warning);
  const registry = new AppRegistry(apps);
  // Business Logic: internal code in the sandbox's isolates (started on first use), Flex services
  // over HTTP, scheduled endpoints claimed through a lease in the document store.
  const sandbox = createSandbox({ documents, logger, config });
  const metrics = new Metrics();
  const businessLogic = createBusinessLogic({ apps: registry, documents, logger, config, metrics }, sandbox);
  const seedGroups = new GroupsService(documents);
  for (const definition of apps) {
    const created = await createEnvironmentGroups(definition, seedGroups);
    if (created.length > 0) logger.info({ appKey: definition.appKey, groups: created }, 'created the groups of the environment file');
  }
  const app = createApp({ config, apps: registry, documents, objects, logger, scrypt, businessLogic, metrics, consoleDir: path.resolve(__dirname, '..', 'console') });
  holder.app = app;
  const scheduler = new EndpointScheduler({
    documents, logger, run: async (appKey, endpoint, tick) => void await businessLogic.runScheduled(appKey, endpoint, tick),
  });
  scheduler.start(apps);
  // One warm isolate per app with internal code, so its first request does not start one.
  for (const definition of apps) if (usesInternalCode(definition)) void sandbox.warm(definition.appKey);
  // Uploads whose bytes never arrive are cleaned up in the background; unref'd so it never keeps
  // the process alive, and a failed sweep is only logged (the next one retries).
  const files = new FilesService(documents, objects, {
    uploadUrlTtlSeconds: config.uploadUrlTtlSeconds, pendingUploadTtlSeconds: config.pendingUploadTtlSeconds, appKeys: () => apps.map((a) => a.appKey),
  });
  const sweepEveryMs = Math.min(config.pendingUploadTtlSeconds * 1000, 3_600_000) / 4;
  setInterval(() => {
    files.sweepPendingUploads().then(
      (swept) => logger.debug({ swept }, 'swept pending uploads'),
      (err: unknown) => logger.warn({ err }, 'sweeping pending uploads failed'),
    );
  }, sweepEveryMs).unref();

  // Signal handlers first: whoever reads the announcement below may send SIGTERM at once, and
  // without a handler the default action would kill the process mid-start.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish within 10 s; closing connections');
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    // Fire and forget: the callback's result is ignored, nothing in it rejects (scheduler.stop
    // never does, the closes are settled), and it ends the process.
    server.close(() => void (async () => {
      await scheduler.stop();
      await Promise.allSettled([sandbox.close(), documents.close(), objects.close(), scrypt.close()]);
      logger.info('stopped');
      process.exit(0);
    })());
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  logger.info({ host: config.host, port, publicUrl: config.publicUrl, documents: config.documents.kind, storage: config.storage.kind }, 'kinbase listening');
  printApps(apps, generated, config, port);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** One line saying why the server could not listen and which setting to change. */
function listenProblem(err: NodeJS.ErrnoException, config: Config): string {
  const where = `port ${config.port} on ${config.host}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where} is already in use by another program; set PORT to a free port (PORT=0 picks one) or stop the other program`;
    case 'EACCES':
      return `not allowed to listen on ${where} (ports below 1024 need privileges); set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'ENOTFOUND':
      return `cannot listen on ${config.host}: no such address on this machine; set KINBASE_HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for every interface)`;
    default:
      return `cannot listen on ${where}: ${err.message}`;
  }
}

/** Prints the apps; secrets only for the data-dir app (configured secrets stay out of logs). */
function printApps(apps: { appKey: string; appSecret: string; masterSecret: string; name: string }[], generated: boolean, config: Config, port: number): void {
  const reach = config.host === '0.0.0.0' || config.host === '::' ? 'every interface' : `${config.host} only${isLoopback(config.host) ? ' (this machine; KINBASE_HOST=0.0.0.0 serves others)' : ''}`;
  const lines = [`kinbase is serving at ${config.publicUrl} (port ${port}), listening on ${reach}${generated ? '; generated a new app:' : ''}`];
  for (const app of apps) {
    lines.push(`  app name:      ${app.name}`, `  app key:       ${app.appKey}`);
    if (!config.apps) lines.push(`  app secret:    ${app.appSecret}`, `  master secret: ${app.masterSecret}`);
  }
  if (!config.apps) lines.push(`  (kept in ${config.dataDir}/apps.json; later starts reuse it)`);
  if (config.console) lines.push(`console: ${config.publicUrl}/console/${apps.length === 1 ? `#/${encodeURIComponent(apps[0]?.appKey ?? '')}` : ''} (sign in with an app key and its master secret)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`kinbase: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
