/**
 * The process entry point: the only module that reads the environment and listens.
 * env -> loadConfig -> listen -> open stores -> buildRuntime -> createApp; SIGTERM/SIGINT stop it gracefully.
 * With KINBASE_WORKERS above 1 this process becomes the cluster's primary (cluster-primary.ts) and
 * each worker it forks runs the same path, sharing the port, the data dir and the store.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import type { createApp as CreateApp } from './app';
import { ConfigError, loadConfig, type Config } from './config/load-config';
import { AppRegistry } from './domain/apps/app-registry';
import { resolveApps, resolveSigningSecret } from './config/data-dir';
import { createDocumentStore, createObjectStore } from './stores';
import { StoreStartError } from './stores/store-start-error';
import { missingNodeFlags } from './node-flags';
import { listenControlSocket } from './control-socket';
import { EmbeddedDocumentStore } from './stores/documents/embedded/embedded.document-store';
import { LISTENING, runClusterPrimary } from './cluster-primary';
import { clusterMetricsOf } from './internal/cluster-metrics';
import { clusterChannel } from './internal/cluster-channel';
import type { SessionEviction } from './domain/sessions/session-cache';

/** Set in a cluster worker: its number, 0 to KINBASE_WORKERS - 1 (a replacement keeps the number). */
function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env.KINBASE_WORKER_INDEX);
  return Number.isInteger(index) && index >= 0 ? index : 0;
}

/** How long SIGTERM lets in-flight requests finish before their connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

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
  const worker = workerIndex();
  const logger = pino({
    level: config.logLevel,
    base: { service: 'kinbase', ...(worker !== undefined ? { worker } : {}) },
  });
  const missing = worker === undefined ? missingNodeFlags() : [];
  if (missing.length > 0) {
    logger.warn(
      { missing },
      `started without ${missing.join(' ')}: streaming files will cost much more CPU in garbage collection (npm start passes it; see docs/operations.md, "Running")`,
    );
  }

  // The HTTP app and the object graph are loaded only by a process that serves: a cluster's
  // primary never does, and stays smaller.
  if (worker === undefined && config.workers > 1) {
    await runClusterPrimary({
      config,
      logger,
      announce: ({ apps, generated }, port) => {
        logger.info({ port, workers: config.workers, documents: config.documents.kind }, 'kinbase listening');
        printApps(apps, generated, withPort(config, port), port);
      },
    });
    return;
  }

  // Listen before building the app: with PORT=0 and no KINBASE_PUBLIC_URL, the URLs handed to
  // clients must name the port actually bound, not 0.
  const holder: { app?: ReturnType<typeof CreateApp>; draining?: boolean } = {};
  const workerHeader = worker !== undefined ? String(worker) : undefined;
  const server = createServer((req, res) => {
    // Which worker answered: for operators matching a response to its worker's log lines.
    if (workerHeader !== undefined) res.setHeader('X-Kinbase-Worker', workerHeader);
    // While draining, every answer closes its connection: keep-alive clients reconnect, through
    // the load balancer, to another instance.
    if (holder.draining) res.setHeader('Connection', 'close');
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
  config = withPort(config, port);

  const [{ createApp }, { buildRuntime }] = await Promise.all([import('./app'), import('./runtime')]);
  const { apps, generated } = await resolveApps(config);
  const signingSecret = await resolveSigningSecret(config);
  const documents = await createDocumentStore(
    config.documents,
    config.dataDir,
    (line, level = 'info') => logger[level](line),
    worker === undefined ? 'single' : 'worker',
  );
  const objects = await createObjectStore(config.storage, {
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    signingSecret,
    role: worker === undefined ? 'single' : 'worker',
  }).catch((err: unknown) => {
    if (!(err instanceof StoreStartError)) throw err;
    process.stderr.write(`kinbase: ${err.message}\n`);
    return process.exit(1);
  });
  for (const warning of config.startupWarnings) logger.warn(warning);
  if (config.mail) {
    // The URL may hold the SMTP password: only its host is logged.
    logger.info(
      { smtpHost: new URL(config.mail.smtpUrl).host, from: config.mail.from },
      'mail is on: password-reset, verification and username mails are sent',
    );
  } else {
    logger.info(
      'mail is off (no KINBASE_SMTP_URL): the user rpc routes only record their state in _kmd and send no mail',
    );
  }
  // Every service, cache and background job, built once (runtime.ts): Business Logic runs internal
  // code in the sandbox's isolates, Flex services over HTTP, scheduled endpoints through a lease in
  // the document store; abandoned uploads are swept in the background.
  // In a cluster, abandoned uploads are swept by worker 0 alone; /metrics sums every worker.
  const runtime = buildRuntime({
    config,
    apps: new AppRegistry(apps),
    documents,
    objects,
    logger,
    sweepsUploads: worker === undefined || worker === 0,
  });
  if (worker !== undefined) {
    runtime.metrics.renderWith(clusterMetricsOf(runtime.metrics.registry));
    // A logout or membership change through this worker ends the cached sessions of every worker.
    const { sessionCache } = runtime;
    sessionCache.relayEvictions(
      clusterChannel<SessionEviction>('session-evictions', (eviction) => sessionCache.applyEviction(eviction)),
    );
  }
  await runtime.start();
  // `kinbase backup` reaches the embedded store through the server that holds it: in a cluster,
  // through worker 0 (a replacement keeps its number, and takes the socket over).
  if (documents instanceof EmbeddedDocumentStore && (worker === undefined || worker === 0)) {
    await listenControlSocket(config.dataDir, { backup: (file) => documents.backupTo(file) }).catch((err: unknown) =>
      logger.warn({ err }, 'no control socket: kinbase backup will not reach this server'),
    );
  }
  holder.app = createApp(runtime, { consoleDir: path.resolve(__dirname, '..', 'console') });

  // Signal handlers first: whoever reads the announcement below may send SIGTERM at once, and
  // without a handler the default action would kill the process mid-start.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    holder.draining = true;
    // GET /readyz answers 503 "draining" to any probe that still reaches this instance.
    runtime.readiness.drain();
    logger.info({ signal }, 'stopping: no new connections, finishing in-flight requests');
    // Bounded exit: requests still running SHUTDOWN_GRACE_MS after the drain delay (a slow upload) are cut; a
    // resumable upload's client asks where it stands and sends the rest to another instance.
    const force = setTimeout(() => {
      logger.warn(`in-flight requests did not finish within ${SHUTDOWN_GRACE_MS / 1000} s; closing connections`);
      server.closeAllConnections();
    }, config.drainDelayMs + SHUTDOWN_GRACE_MS);
    force.unref();
    // Keep serving for the drain delay (every answer closing its connection), then stop accepting.
    setTimeout(() => closeListener(), config.drainDelayMs);
  };
  const closeListener = () => {
    // Fire and forget: the callback's result is ignored; nothing in it rejects (a failed close is
    // logged), and it ends the process.
    server.close(
      () =>
        void (async () => {
          await runtime.close().catch((err: unknown) => logger.error({ err }, 'closing the runtime failed'));
          logger.info('stopped');
          process.exit(0);
        })(),
    );
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  if (worker !== undefined) {
    process.send?.({ type: LISTENING, port });
    return;
  }
  logger.info(
    {
      host: config.host,
      port,
      publicUrl: config.publicUrl,
      documents: config.documents.kind,
      storage: config.storage.kind,
    },
    'kinbase listening',
  );
  printApps(apps, generated, config, port);
}

/** With PORT=0 and no KINBASE_PUBLIC_URL, the public URL names the port actually bound. */
function withPort(config: Config, port: number): Config {
  return config.port === 0 && !process.env.KINBASE_PUBLIC_URL
    ? { ...config, publicUrl: `http://localhost:${port}` }
    : config;
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
function printApps(
  apps: { appKey: string; appSecret: string; masterSecret: string; name: string }[],
  generated: boolean,
  config: Config,
  port: number,
): void {
  const reach =
    config.host === '0.0.0.0' || config.host === '::'
      ? 'every interface'
      : `${config.host} only${isLoopback(config.host) ? ' (this machine; KINBASE_HOST=0.0.0.0 serves others)' : ''}`;
  const lines = [
    `kinbase is serving at ${config.publicUrl} (port ${port}) with ${config.workers === 1 ? '1 process' : `${config.workers} worker processes`}, listening on ${reach}${generated ? '; generated a new app:' : ''}`,
  ];
  for (const app of apps) {
    lines.push(`  app name:      ${app.name}`, `  app key:       ${app.appKey}`);
    if (!config.apps) lines.push(`  app secret:    ${app.appSecret}`, `  master secret: ${app.masterSecret}`);
  }
  if (!config.apps) lines.push(`  (kept in ${config.dataDir}/apps.json; later starts reuse it)`);
  if (config.console)
    lines.push(
      `console: ${config.publicUrl}/console/${apps.length === 1 ? `#/${encodeURIComponent(apps[0]?.appKey ?? '')}` : ''} (sign in with an app key and its master secret)`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`kinbase: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
