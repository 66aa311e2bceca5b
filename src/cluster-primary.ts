/**
 * The primary process of a kinbase cluster (KINBASE_WORKERS > 1): it serves no request itself. It
 * does once what every worker would otherwise race to do (generate the data dir's app and signing
 * secret, take the data dir's lock, prepare the embedded store and migrate old data), then forks
 * the workers, which all listen on the one port (node:cluster hands them the connections in turn).
 * A worker that dies is replaced; SIGTERM or SIGINT drains every worker, then the primary exits.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config/load-config';
import { resolveApps, resolveSigningSecret, type ResolvedApps } from './config/data-dir';
import { prepareSharedDocumentStore } from './stores';
import { serveClusterMetrics } from './internal/cluster-metrics';
import { relayChannels } from './internal/cluster-channel';

/** The message a worker sends once it listens (server.ts). */
export const LISTENING = 'kinbase:listening';

/** How long workers may take to drain after SIGTERM before they are killed. */
const DRAIN_LIMIT_MS = 30_000;

export interface ClusterOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Prints the start line once every worker listens on `port`. */
  readonly announce: (apps: ResolvedApps, port: number) => void;
}

/** Runs the primary until a signal stops it; exits the process with 1 if the first workers cannot start. */
export async function runClusterPrimary({ config, logger, announce }: ClusterOptions): Promise<void> {
  const apps = await resolveApps(config);
  await resolveSigningSecret(config);
  const lock = await prepareSharedDocumentStore(config.documents, config.dataDir, (line, level = 'info') =>
    logger[level](line),
  );
  serveClusterMetrics();
  relayChannels();

  const workers = new Map<number, Worker>();
  let stopping = false;
  let serving = false;
  const fork = (index: number): Promise<number> => {
    const worker = cluster.fork({ KINBASE_WORKER_INDEX: String(index) });
    workers.set(index, worker);
    const startedAt = Date.now();
    worker.once('exit', (code, signal) => {
      if (workers.get(index) === worker) workers.delete(index);
      if (stopping) return;
      if (!serving) {
        // The first start failed (the worker said why): stop the others, exit like a single process.
        stopping = true;
        for (const other of workers.values()) other.process.kill('SIGKILL');
        lock.release();
        process.exit(typeof code === 'number' && code !== 0 ? code : 1);
      }
      // A worker that keeps dying at once is restarted a second later, not in a tight loop.
      const delay = Date.now() - startedAt < 5_000 ? 1_000 : 0;
      logger.error({ worker: index, code, signal }, `worker ${index} exited; starting a new one`);
      setTimeout(() => {
        if (!stopping) void fork(index).catch(() => undefined);
      }, delay).unref();
    });
    return new Promise<number>((resolve, reject) => {
      const onMessage = (message: { type?: string; port?: number }) => {
        if (message?.type !== LISTENING) return;
        worker.off('message', onMessage);
        resolve(message.port ?? config.port);
      };
      worker.on('message', onMessage);
      worker.once('exit', () => reject(new Error(`worker ${index} exited before listening`)));
    });
  };

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: workers.size }, 'stopping: every worker finishes its in-flight requests');
    const force = setTimeout(() => {
      logger.warn(`workers did not stop within ${DRAIN_LIMIT_MS / 1000} s; killing them`);
      for (const worker of workers.values()) worker.process.kill('SIGKILL');
    }, DRAIN_LIMIT_MS);
    force.unref();
    const exits = [...workers.values()].map(
      (worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))),
    );
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    void Promise.all(exits).then(() => {
      lock.release();
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // The first worker alone first: a port that cannot be bound is reported once, and with PORT=0
  // it picks the port the others then share.
  const port = await fork(0);
  await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => fork(i + 1)));
  serving = true;
  announce(apps, port);
}
