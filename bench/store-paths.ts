/**
 * Store paths bench (issue 16): the same request on the embedded document store and on MongoDB
 * (FerretDB, started the way the tests start it), side by side in one run. The request is a user's
 * GET of a list of 100 entities holding 2 KinveyFile references each (to 2 uploaded private files,
 * local-disk objects), after a warm-up.
 *
 * kinbase runs in this process (createApp on a real HTTP server); the load comes from a child
 * process (bench/references-load.ts), and FerretDB is another process, so process.cpuUsage() over a
 * measurement is kinbase's own CPU (the MongoDB driver included). Store round trips per request
 * come from kinbase's own metric (kinbase_store_round_trips_per_request). Rounds alternate the
 * stores; medians are printed. kinbase runs with the node flags `npm start` gives it (NODE_FLAGS:
 * the bench re-runs itself with them).
 *
 * Warm-up is a number of requests, the same for both stores, not a time: V8 optimises a function
 * after enough calls, and MongoDB (FerretDB, on the same 2 cores) serves about a tenth of the
 * embedded store's requests per second, so a warm-up of one second left kinbase still compiling
 * (about 10% of its CPU, on background threads) through the MongoDB rounds: 8.6 ms per request in
 * a first round of 15 s, about 6 ms after some 900 requests (before MongoDB reads became commands).
 *
 * CPU per request also depends on the request rate: at a tenth of the rate every request pays for
 * its own wake-ups and runs on caches the other processes have used since. So the embedded store
 * is also measured paced at MongoDB's rate (same connections, same requests per second), and
 * MongoDB's CPU is compared with both rows.
 *
 * Usage: npm run bench:store-paths   (BENCH_ROUNDS=5, BENCH_SECONDS=3, BENCH_CONCURRENCY=4,
 *        BENCH_WARMUP_REQUESTS=1000; BENCH_ONLY=embedded or BENCH_ONLY=mongodb measures one store,
 *        e.g. under perf or node --cpu-prof)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app';
import { buildRuntime } from '../src/runtime';
import { createObjectStore } from '../src/stores';
import { loadConfig } from '../src/config/load-config';
import { missingNodeFlags, NODE_FLAGS } from '../src/node-flags';
import { AppRegistry } from '../src/domain/apps/app-registry';
import type { Metrics } from '../src/internal/metrics';
import type { DocumentStore } from '../src/domain/ports';
import { EmbeddedDocumentStore } from '../src/stores/documents/embedded/embedded.document-store';
import { MongoDocumentStore } from '../src/stores/documents/mongodb/mongo.document-store';
import { startFerretDb } from '../test/support/ferretdb';
import type { LoadResult, LoadSpec } from './references-load';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ONLY = process.env.BENCH_ONLY;
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 1000);
const ENTITIES = 100;
const LOAD_SCRIPT = path.join(__dirname, 'references-load.js');
const ROUTE = '/appdata/:appKey/:collection';

type Kind = 'embedded' | 'mongodb';

interface Target {
  kind: Kind;
  url: string;
  auth: string;
  metrics: Metrics;
  close: () => Promise<void>;
}

interface Measurement {
  rps: number;
  cpuMsPerRequest: number;
  /** The kernel's part of it (system time: on loopback, sending also runs the receiving side's TCP stack). */
  systemMsPerRequest: number;
  roundTripsPerRequest: number;
}

const APP = {
  appKey: 'kid_storepaths',
  appSecret: 'storepaths-app-secret',
  masterSecret: 'storepaths-master-secret',
  name: 'store paths',
  collections: {},
};
const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

async function call(
  base: string,
  method: string,
  route: string,
  auth: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** kinbase on `documents`, listening on loopback, with a user, 2 uploaded files and 100 entities referencing both. */
async function startTarget(
  kind: Kind,
  documents: DocumentStore,
  dataDir: string,
  stopStore: () => Promise<void>,
): Promise<Target> {
  const holder: { handler?: ReturnType<typeof createApp> } = {};
  const server: Server = createServer((req, res) => {
    if (holder.handler) holder.handler(req, res);
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({ KINBASE_DATA_DIR: dataDir, KINBASE_PUBLIC_URL: base, KINBASE_LOG_LEVEL: 'silent' });
  const objects = await createObjectStore(
    { kind: 'local' },
    { dataDir, publicUrl: base, signingSecret: randomBytes(32).toString('hex') },
  );
  const runtime = buildRuntime({
    config,
    apps: new AppRegistry([APP]),
    documents,
    objects,
    logger: pino({ level: 'silent' }),
  });
  holder.handler = createApp(runtime);

  const appAuth = basic(APP.appKey, APP.appSecret);
  await call(base, 'POST', `/user/${APP.appKey}`, appAuth, { username: 'reader', password: 'reader-password' });
  const login = await call(base, 'POST', `/user/${APP.appKey}/login`, appAuth, {
    username: 'reader',
    password: 'reader-password',
  });
  const auth = `Kinvey ${(login._kmd as { authtoken: string }).authtoken}`;
  const files: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const bytes = randomBytes(2048);
    const meta = await call(base, 'POST', `/blob/${APP.appKey}`, auth, {
      _filename: `f${i}.png`,
      mimeType: 'image/png',
      size: bytes.length,
    });
    const put = await fetch(meta._uploadURL as string, {
      method: 'PUT',
      headers: { ...(meta._requiredHeaders as Record<string, string>), 'Content-Type': 'image/png' },
      body: bytes,
    });
    if (put.status >= 300) throw new Error(`upload: ${put.status}`);
    files.push(meta._id as string);
  }
  for (let i = 0; i < ENTITIES; i += 1) {
    await call(base, 'POST', `/appdata/${APP.appKey}/albums`, auth, {
      title: `album ${i}`,
      year: 1970 + i,
      notes: 'x'.repeat(600),
      cover: { _type: 'KinveyFile', _id: files[0] },
      back: { _type: 'KinveyFile', _id: files[1] },
    });
  }
  const url = `${base}/appdata/${APP.appKey}/albums`;
  const check = await fetch(url, { headers: { Authorization: auth } });
  const listed = (await check.json()) as Array<{ cover?: { _downloadURL?: string } }>;
  if (listed.length !== ENTITIES || !listed[0]?.cover?._downloadURL)
    throw new Error(`${kind}: the list does not hold ${ENTITIES} resolved entities`);
  return {
    kind,
    url,
    auth,
    metrics: runtime.metrics,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await stopStore();
    },
  };
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult)
        : reject(new Error(`load child exited with ${code}`)),
    );
  });
}

/** Sum and count of the per-request round-trip histogram for the list route. */
async function roundTrips(metrics: Metrics): Promise<{ sum: number; count: number }> {
  const metric = await metrics.registry.getSingleMetric('kinbase_store_round_trips_per_request')?.get();
  let sum = 0;
  let count = 0;
  // Histogram values carry the sample's name (`..._sum`, `..._count`, `..._bucket`).
  for (const value of (metric?.values ?? []) as Array<{
    labels: Record<string, unknown>;
    value: number;
    metricName?: string;
  }>) {
    if (value.labels.route !== ROUTE || value.labels.method !== 'GET') continue;
    if (value.metricName?.endsWith('_sum')) sum += value.value;
    if (value.metricName?.endsWith('_count')) count += value.value;
  }
  return { sum, count };
}

/**
 * kinbase's CPU over `seconds` of load: CONCURRENCY connections back to back, or, with `pacedRps`,
 * CONCURRENCY paced connections (one probe child each) sending about that many requests per second.
 */
async function measure(target: Target, seconds: number, pacedRps?: number): Promise<Measurement> {
  const trips0 = await roundTrips(target.metrics);
  const cpu0 = process.cpuUsage();
  const result =
    pacedRps === undefined
      ? await runLoad({
          mode: 'load',
          url: target.url,
          auth: target.auth,
          concurrency: CONCURRENCY,
          maxRequests: 1_000_000,
          maxMs: seconds * 1000,
        })
      : combine(
          await Promise.all(
            Array.from({ length: CONCURRENCY }, () =>
              runLoad({
                mode: 'probe',
                url: target.url,
                auth: target.auth,
                intervalMs: (CONCURRENCY * 1000) / pacedRps,
                maxRequests: 1_000_000,
                maxMs: seconds * 1000,
              }),
            ),
          ),
        );
  const cpu = process.cpuUsage(cpu0);
  const trips1 = await roundTrips(target.metrics);
  if (result.errors > 0) throw new Error(`${target.kind}: ${result.errors} failed requests (${result.firstError})`);
  const requests = trips1.count - trips0.count;
  return {
    rps: result.rps,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / result.requests,
    systemMsPerRequest: cpu.system / 1000 / result.requests,
    roundTripsPerRequest: requests > 0 ? (trips1.sum - trips0.sum) / requests : NaN,
  };
}

function combine(results: LoadResult[]): LoadResult {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const firstError = results.find((r) => r.firstError)?.firstError;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    ...(firstError ? { firstError } : {}),
  };
}

/** Load until the target has served `requests` more (the JIT settles by calls, not by time). */
async function warmUp(target: Target, requests: number): Promise<void> {
  const result = await runLoad({
    mode: 'load',
    url: target.url,
    auth: target.auth,
    concurrency: CONCURRENCY,
    maxRequests: requests,
    maxMs: 300_000,
  });
  if (result.errors > 0)
    throw new Error(`${target.kind}: ${result.errors} failed warm-up requests (${result.firstError})`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const kinds: Kind[] = ONLY === 'embedded' || ONLY === 'mongodb' ? [ONLY] : ['embedded', 'mongodb'];
  const targets: Target[] = [];
  const dirs: string[] = [];
  try {
    for (const kind of kinds) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-store-paths-'));
      dirs.push(dataDir);
      if (kind === 'embedded') {
        targets.push(
          await startTarget(
            kind,
            new EmbeddedDocumentStore({ dir: path.join(dataDir, 'documents') }),
            dataDir,
            async () => {},
          ),
        );
      } else {
        const ferret = process.env.MONGODB_URL
          ? { url: process.env.MONGODB_URL, stop: async () => {} }
          : await startFerretDb();
        try {
          const store = await MongoDocumentStore.connect({
            url: ferret.url,
            dbPrefix: `bench${randomBytes(3).toString('hex')}_`,
          });
          targets.push(await startTarget(kind, store, dataDir, ferret.stop));
        } catch (err) {
          await ferret.stop();
          throw err;
        }
      }
    }
    for (const target of targets) await warmUp(target, WARMUP_REQUESTS);
    // What the process costs with no request at all (driver monitoring, timers): part of every
    // measurement, so slow stores (fewer requests per second) carry more of it per request.
    const idle0 = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = process.cpuUsage(idle0);
    const idleMsPerSecond = (idle.user + idle.system) / 1000 / 2;
    const results = new Map<Kind, Measurement[]>(kinds.map((k) => [k, []]));
    const embeddedTarget = targets.find((t) => t.kind === 'embedded');
    // The embedded store is also measured paced at the rate MongoDB reached in the same round.
    const paced: Measurement[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) results.get(target.kind)?.push(await measure(target, SECONDS));
      const mongoRun = results.get('mongodb')?.[round];
      if (embeddedTarget && mongoRun) paced.push(await measure(embeddedTarget, SECONDS, mongoRun.rps));
    }
    const summarize = (label: string, runs: Measurement[]) => ({
      label,
      rps: median(runs.map((r) => r.rps)),
      cpu: median(runs.map((r) => r.cpuMsPerRequest)),
      system: median(runs.map((r) => r.systemMsPerRequest)),
      trips: median(runs.map((r) => r.roundTripsPerRequest)),
      spread: runs.map((r) => r.cpuMsPerRequest.toFixed(2)).join(' '),
    });
    const rows = kinds.map((kind) =>
      summarize(kind === 'mongodb' ? 'MongoDB (FerretDB)' : 'embedded', results.get(kind) ?? []),
    );
    const mongo = kinds.includes('mongodb') ? rows[kinds.indexOf('mongodb')] : undefined;
    if (paced.length > 0) rows.push(summarize("embedded, paced at each round's MongoDB rate", paced));
    process.stdout.write(
      `\nGET of ${ENTITIES} entities with 2 KinveyFile references each, as a user; ${ROUNDS} rounds of ${SECONDS} s, ${CONCURRENCY} connections, after ${WARMUP_REQUESTS} warm-up requests per store; medians\n`,
    );
    process.stdout.write(`idle kinbase process: ${idleMsPerSecond.toFixed(1)} ms CPU per second (included below)\n\n`);
    process.stdout.write(
      '| store | requests/s | kinbase CPU ms/request | of which system | MongoDB CPU vs this row | store round trips/request | CPU ms/request per round |\n|---|---:|---:|---:|---:|---:|---|\n',
    );
    for (const row of rows) {
      const ratio = mongo && row !== mongo ? `${(mongo.cpu / row.cpu).toFixed(2)}x` : '-';
      process.stdout.write(
        `| ${row.label} | ${row.rps.toFixed(0)} | ${row.cpu.toFixed(2)} | ${row.system.toFixed(2)} | ${ratio} | ${row.trips.toFixed(2)} | ${row.spread} |\n`,
      );
    }
  } finally {
    await Promise.allSettled(targets.map((t) => t.close()));
    await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Re-runs this bench under NODE_FLAGS when they are missing (V8 reads them only at start-up). */
function rerunWithNodeFlags(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...process.execArgv, __filename, ...process.argv.slice(2)], {
      stdio: 'inherit',
    });
    // Stopping the bench stops the run as well, instead of leaving it running on its own.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const run = missingNodeFlags().length > 0 ? rerunWithNodeFlags() : main().then(() => 0);
run.then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:store-paths failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
