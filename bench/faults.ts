/**
 * Faults measured from a client's side (docs/several-instances.md, "Measured"): three kinbase
 * instances behind the round-robin proxy, on a private FerretDB and fake-gcs-server reached through
 * Toxiproxy. Four clients loop (document store: write an entity, read it back; bucket: open an
 * upload, read an entity holding a file reference) while
 *   A. FerretDB is stopped (SIGSTOP) for 10 s and resumed (SIGCONT);
 *   B. the bucket is blackholed (Toxiproxy `timeout` toxic) for 10 s and healed.
 * Per phase: client p50/p99 and error rate; time from the fault's start to the first 503, and from
 * its end to the first success. Then C: a spread attack of wrong passwords for one username,
 * round-robin over one instance and over three: failed guesses let through in one window.
 * Run: npm run bench:faults
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKinbase, stopAll, type Kinbase } from './kinbase-process';
import { startFerretDb } from '../test/support/ferretdb';
import { startFakeGcs } from '../test/support/fake-gcs';
import { startToxiproxy } from '../test/support/toxiproxy';
import { startRoundRobinProxy, type RoundRobinProxy } from '../test/support/round-robin-proxy';
import { createTestBucket, writeServiceAccountKey } from '../test/support/gcs-key';

const APP = { appKey: 'kid_bench_faults', appSecret: 'bench-faults-app', masterSecret: 'bench-faults-master' };
const master = `Basic ${Buffer.from(`${APP.appKey}:${APP.masterSecret}`).toString('base64')}`;
const appAuth = `Basic ${Buffer.from(`${APP.appKey}:${APP.appSecret}`).toString('base64')}`;
const CLIENTS = 4;
const BASELINE_MS = 3000;
const FAULT_MS = 10_000;
const AFTER_MS = 8000;

interface Sample {
  start: number;
  end: number;
  ok: boolean;
  status: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(base: string, method: string, route: string, body?: unknown, auth = master) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, json };
}

/** Runs `iteration` in CLIENTS loops through the fault's phases; returns every sample and the phase times. */
async function underFault(iteration: () => Promise<number>, fault: () => Promise<void>, heal: () => Promise<void>) {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const start = Date.now();
      let status = 0;
      try {
        status = await iteration();
      } catch {
        status = 0;
      }
      samples.push({ start, end: Date.now(), ok: status >= 200 && status < 300, status });
      if (status === 503) await sleep(100);
    }
  });
  await sleep(BASELINE_MS);
  const faultStart = Date.now();
  await fault();
  await sleep(FAULT_MS);
  await heal();
  const faultEnd = Date.now();
  await sleep(AFTER_MS);
  running = false;
  await Promise.all(loops);
  return { samples, faultStart, faultEnd };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function report(name: string, run: Awaited<ReturnType<typeof underFault>>): string[] {
  const { samples, faultStart, faultEnd } = run;
  const phases: Array<[string, (s: Sample) => boolean]> = [
    ['before', (s) => s.start < faultStart],
    ['during', (s) => s.start >= faultStart && s.start < faultEnd],
    ['after', (s) => s.start >= faultEnd],
  ];
  const first503 = samples.filter((s) => s.status === 503 && s.end >= faultStart).sort((a, b) => a.end - b.end)[0];
  const recovered = samples.filter((s) => s.ok && s.start >= faultEnd).sort((a, b) => a.end - b.end)[0];
  const statuses = [...new Set(samples.map((s) => s.status))].sort().join(', ');
  const rows = phases.map(([phase, inPhase]) => {
    const picked = samples.filter(inPhase);
    const latencies = picked.map((s) => s.end - s.start);
    const errors = picked.filter((s) => !s.ok).length;
    return `| ${name} | ${phase} | ${picked.length} | ${percentile(latencies, 50)} | ${percentile(latencies, 99)} | ${((100 * errors) / Math.max(1, picked.length)).toFixed(1)} % |`;
  });
  rows.push(
    `| ${name} | time to first 503: ${first503 ? `${((first503.end - faultStart) / 1000).toFixed(1)} s` : 'none'}; to recover after the fault ends: ${recovered ? `${((recovered.end - faultEnd) / 1000).toFixed(1)} s` : 'not within the run'}; statuses seen: ${statuses} | | | | |`,
  );
  return rows;
}

async function spreadAttack(proxy: RoundRobinProxy, ports: number[]): Promise<number> {
  proxy.backends = ports;
  const username = `victim-${randomBytes(4).toString('hex')}`;
  await call(proxy.url, 'POST', `/user/${APP.appKey}`, { username, password: 'right-password-1' }, appAuth);
  let let_through = 0;
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`${proxy.url}/user/${APP.appKey}/login`, {
      method: 'POST',
      headers: { authorization: appAuth, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ username, password: `guess-${i}` }),
    });
    if (res.status === 401) let_through += 1;
    await res.arrayBuffer();
  }
  return let_through;
}

async function main(): Promise<void> {
  const [ferret, gcs, toxi] = await Promise.all([startFerretDb(), startFakeGcs(), startToxiproxy()]);
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-faults-'));
  const proxy = await startRoundRobinProxy([]);
  try {
    const mongoPort = await toxi.proxy('mongo', `127.0.0.1:${ferret.port}`);
    const gcsPort = await toxi.proxy('gcs', new URL(gcs.endpoint).host);
    const gcsEndpoint = `http://127.0.0.1:${gcsPort}`;
    const bucket = await createTestBucket(gcs.endpoint);
    const appsFile = path.join(dir, 'apps.json');
    await writeFile(appsFile, JSON.stringify([APP]));
    const keyFile = writeServiceAccountKey(gcsEndpoint);
    const instances: Kinbase[] = [];
    for (let i = 0; i < 3; i++) {
      instances.push(
        await startKinbase(`kinbase-${i}`, {
          KINBASE_PUBLIC_URL: proxy.url,
          KINBASE_DATA_DIR: await mkdtemp(path.join(dir, 'i-')),
          KINBASE_APPS_FILE: appsFile,
          MONGODB_URL: `mongodb://127.0.0.1:${mongoPort}/`,
          MONGODB_DB_PREFIX: 'benchfaults_',
          KINBASE_STORAGE: 'gcs',
          GCS_BUCKET: bucket,
          GCS_KEY_FILE: keyFile,
          GCS_API_ENDPOINT: gcsEndpoint,
        }),
      );
    }
    const ports = instances.map((k) => k.port);
    proxy.backends = ports;
    const base = proxy.url;

    let n = 0;
    const documents = await underFault(
      async () => {
        const id = `e${n++}`;
        const write = await call(base, 'POST', `/appdata/${APP.appKey}/bench`, { _id: id });
        if (write.status !== 201) return write.status;
        return (await call(base, 'GET', `/appdata/${APP.appKey}/bench/${id}`)).status;
      },
      async () => ferret.signal('SIGSTOP'),
      async () => ferret.signal('SIGCONT'),
    );

    const file = await call(base, 'POST', `/blob/${APP.appKey}`, {
      _filename: 'a.txt',
      mimeType: 'text/plain',
      size: 1,
    });
    await call(base, 'POST', `/appdata/${APP.appKey}/refs`, {
      _id: 'r',
      f: { _type: 'KinveyFile', _id: file.json._id },
    });
    let uploads = 0;
    const bucketRun = await underFault(
      async () => {
        const opened = await call(base, 'POST', `/blob/${APP.appKey}`, {
          _filename: `u${uploads++}.txt`,
          mimeType: 'text/plain',
          size: 1,
        });
        if (opened.status !== 201) return opened.status;
        return (await call(base, 'GET', `/appdata/${APP.appKey}/refs/r`)).status;
      },
      () => toxi.addToxic('gcs', 'blackhole', { type: 'timeout', attributes: { timeout: 0 } }),
      () => toxi.removeToxic('gcs', 'blackhole'),
    );
    // Reads of entities with references alone, while the bucket is blackholed again.
    const readsOnly = await underFault(
      async () => (await call(base, 'GET', `/appdata/${APP.appKey}/refs/r`)).status,
      () => toxi.addToxic('gcs', 'blackhole', { type: 'timeout', attributes: { timeout: 0 } }),
      () => toxi.removeToxic('gcs', 'blackhole'),
    );

    const one = await spreadAttack(proxy, ports.slice(0, 1));
    const three = await spreadAttack(proxy, ports);

    const lines = [
      '| fault | phase | requests | p50 ms | p99 ms | errors |',
      '|---|---|---|---|---|---|',
      ...report('document store stopped 10 s (write + read)', documents),
      ...report('bucket blackholed 10 s (open upload + read with reference)', bucketRun),
      ...report('bucket blackholed 10 s (read with reference only)', readsOnly),
      '',
      '| spread attack (60 wrong passwords, one username, one window) | failed guesses let through |',
      '|---|---|',
      `| 1 instance | ${one} |`,
      `| 3 instances, round robin | ${three} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await stopAll();
    await proxy.close();
    await Promise.all([ferret.stop(), gcs.stop(), toxi.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
