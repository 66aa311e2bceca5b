/**
 * The process entry point: the only module that reads the environment and listens.
 * env -> loadConfig -> listen -> open stores -> buildRuntime -> createApp; SIGTERM/SIGINT stop it gracefully.
 */
import { createServer } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { createApp } from './app';
import { buildRuntime } from './runtime';
import { ConfigError, loadConfig, type Config } from './config/load-config';
import { AppRegistry } from './domain/apps/app-registry';
import { resolveApps, resolveSigningSecret } from './config/data-dir';
import { createDocumentStore, createObjectStore } from './stores';
import { missingNodeFlags } from './node-flags';

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
  const logger = pino({ level: config.logLevel, base: { service: 'kinbase' } });
  const missing = missingNodeFlags();
  if (missing.length > 0) {
    logger.warn(
      { missing },
      `started without ${missing.join(' ')}: streaming files will cost much more CPU in garbage collection (npm start passes it; see docs/operations.md, "Running")`,
    );
  }

  // Listen before building the app: with PORT=0 and no KINBASE_PUBLIC_URL, the URLs handed to
  // clients must name the port actually bound, not 0.
  const holder: { app?: ReturnType<typeof createApp>; draining?: boolean } = {};
  const server = createServer((req, res) => {
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
  if (config.port === 0 && !process.env.KINBASE_PUBLIC_URL)
    config = { ...config, publicUrl: `http://localhost:${port}` };

  const { apps, generated } = await resolveApps(config);
  const signingSecret = await resolveSigningSecret(config);
  const documents = await createDocumentStore(config.documents, config.dataDir, (line, level = 'info') =>
    logger[level](line),
  );
  const objects = await createObjectStore(config.storage, {
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    signingSecret,
  });
  for (const warning of config.startupWarnings) logger.warn(warning);
  // Every service, cache and background job, built once (runtime.ts): Business Logic runs internal
  // code in the sandbox's isolates, Flex services over HTTP, scheduled endpoints through a lease in
  // the document store; abandoned uploads are swept in the background.
  const runtime = buildRuntime({ config, apps: new AppRegistry(apps), documents, objects, logger });
  await runtime.start();
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
    `kinbase is serving at ${config.publicUrl} (port ${port}), listening on ${reach}${generated ? '; generated a new app:' : ''}`,
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
