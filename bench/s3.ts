/**
 * S3 storage, side by side in one run, against versitygw on this machine:
 *
 * 1. Upload: 1 GiB through kinbase's resumable upload URL (POST metadata, one PUT with
 *    Content-Range; kinbase streams it into an S3 multipart upload) against a direct presigned PUT
 *    of the same bytes to the same gateway. Rounds alternate; medians, the throughput ratio and
 *    kinbase's peak RSS (VmHWM) are printed. Goals: ratio >= 0.8, RSS < 200 MB.
 * 2. References: 100 records with 2 KinveyFile references each (private files), read in pages of
 *    100 with cold signed-URL caches, on S3 against the same on local disk: req/s ratio (goal
 *    >= 0.9; S3 signing is local HMAC, no network call).
 *
 * kinbase, versitygw and the load generator (bench/references-load.ts) are separate processes.
 * Usage: npm run bench:s3   (BENCH_FILE_MB=1024, BENCH_ROUNDS=3, BENCH_REFS_SECONDS=5 by default)
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '../src/stores/objects/s3/s3-client';
import { deriveSigningKey, encodeKeyPath, presignUrl } from '../src/stores/objects/s3/sigv4';
import { freePort } from './free-port';
import { startKinbase, stopAll, track, type Kinbase } from './kinbase-process';
import type { LoadResult, LoadSpec } from './references-load';

const MB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_FILE_MB ?? 1024) * MB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REFS_SECONDS = Number(process.env.BENCH_REFS_SECONDS ?? 5);
const CHUNK = randomBytes(MB);
const CREDS = { accessKeyId: 'BENCHACCESSKEY', secretAccessKey: randomBytes(20).toString('hex'), region: 'us-east-1' };
const APP = {
  appKey: 'kid_bench_s3',
  appSecret: randomBytes(12).toString('hex'),
  masterSecret: randomBytes(12).toString('hex'),
};
const AUTH = `Basic ${Buffer.from(`${APP.appKey}:${APP.masterSecret}`).toString('base64')}`;

function versitygwBinary(): string {
  const dirs = [process.env.KINBASE_TOOLS_DIR];
  try {
    dirs.push(path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin'));
  } catch {
    // no Go: only KINBASE_TOOLS_DIR
  }
  for (const dir of dirs) if (dir) return path.join(dir, 'versitygw');
  throw new Error('versitygw not found: run `npm run test-servers`');
}

async function startVersitygw(root: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  mkdirSync(path.join(root, 'data'), { recursive: true });
  mkdirSync(path.join(root, 'meta'), { recursive: true });
  const child = track(
    spawn(
      versitygwBinary(),
      [
        '--access',
        CREDS.accessKeyId,
        '--secret',
        CREDS.secretAccessKey,
        '--port',
        `127.0.0.1:${port}`,
        '--quiet',
        'posix',
        '--sidecar',
        path.join(root, 'meta'),
        path.join(root, 'data'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const s3 = new S3Client({ ...CREDS, endpoint, bucket: 'probe', forcePathStyle: true });
    const up = await s3.call({ method: 'HEAD', accept: [404] }).then(
      () => true,
      () => false,
    );
    s3.close();
    if (up) return { endpoint, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`versitygw did not answer on ${endpoint}`);
}

/** PUTs SIZE bytes (a repeated random MiB) as one request body; resolves with the response. */
function putBody(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { ...headers, 'Content-Length': String(SIZE) } }, resolve);
    req.once('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < SIZE) {
        const piece = sent + CHUNK.length <= SIZE ? CHUNK : CHUNK.subarray(0, SIZE - sent);
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

async function api(kb: Kinbase, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${kb.base}${route}`, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json', ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function uploads(kb: Kinbase, endpoint: string, bucket: string): Promise<string[]> {
  const direct: number[] = [];
  const through: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const key = `direct/round${round}`;
    const signedAt = new Date();
    const url = presignUrl(CREDS, deriveSigningKey(CREDS.secretAccessKey, signedAt, CREDS.region), {
      method: 'PUT',
      url: new URL(`${endpoint}/${bucket}/${encodeKeyPath(key)}`),
      signedAt,
      expiresInSeconds: 3600,
    });
    direct.push(
      await timed(async () => {
        const res = await putBody(url, { 'Content-Type': 'application/octet-stream' });
        res.resume();
        if (res.statusCode !== 200) throw new Error(`direct PUT ${res.statusCode}`);
      }),
    );
    const id = `bench-${round}`;
    through.push(
      await timed(async () => {
        const meta = await api(kb, 'POST', `/blob/${APP.appKey}`, {
          _id: id,
          size: SIZE,
          mimeType: 'application/octet-stream',
        });
        const res = await putBody(meta._uploadURL as string, {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes 0-${SIZE - 1}/${SIZE}`,
        });
        res.resume();
        if (res.statusCode !== 200) throw new Error(`kinbase upload ${res.statusCode}`);
      }),
    );
    const state = (await api(kb, 'GET', `/blob/${APP.appKey}/${id}`))._uploadState as { status: string };
    if (state.status !== 'complete') throw new Error(`upload ${id} is ${state.status}`);
    await api(kb, 'DELETE', `/blob/${APP.appKey}/${id}`);
    const s3 = new S3Client({ ...CREDS, endpoint, bucket, forcePathStyle: true });
    await s3.call({ method: 'DELETE', key });
    s3.close();
    const at = (xs: number[]) => (SIZE / MB / (xs[round - 1] as number)).toFixed(0);
    process.stderr.write(
      `round ${round}/${ROUNDS}: direct presigned PUT ${at(direct)} MiB/s, through kinbase ${at(through)} MiB/s\n`,
    );
  }
  const mbps = (s: number) => SIZE / MB / s;
  const ratio = mbps(median(through)) / mbps(median(direct));
  return [
    `upload ${SIZE / MB} MiB, ${ROUNDS} alternating rounds, medians: direct presigned PUT ${mbps(median(direct)).toFixed(0)} MiB/s, through kinbase ${mbps(median(through)).toFixed(0)} MiB/s, ratio ${ratio.toFixed(2)} (goal >= 0.80)`,
    `kinbase peak RSS (VmHWM) over the uploads: ${(await peakRssMb(kb.child.pid as number)).toFixed(0)} MB (goal < 200 MB)`,
  ];
}

/** 100 records, each holding 2 references to private files of 1 KB. */
async function seedReferences(kb: Kinbase): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const meta = await api(
      kb,
      'POST',
      `/blob/${APP.appKey}`,
      { _id: `f${i}`, size: 1024, mimeType: 'image/png' },
      {
        'X-Kinvey-Content-Type': 'image/png',
      },
    );
    const res = await fetch(meta._uploadURL as string, {
      method: 'PUT',
      headers: { 'Content-Type': 'image/png' },
      body: randomBytes(1024),
    });
    if (res.status !== 200) throw new Error(`seeding f${i}: ${res.status}`);
  }
  for (let i = 0; i < 100; i++) {
    const ref = (n: number) => ({ _type: 'KinveyFile', _id: `f${n}` });
    await api(kb, 'POST', `/appdata/${APP.appKey}/things`, { _id: `t${i}`, a: ref(2 * i), b: ref(2 * i + 1) });
  }
  // One read completes every upload record (the first read after the bytes arrived does).
  await api(kb, 'GET', `/appdata/${APP.appKey}/things?limit=100`);
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = track(
    spawn(process.execPath, [path.join(__dirname, 'references-load.js'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load child exited with ${code}`));
      const result = JSON.parse(out) as LoadResult;
      if (result.errors > 0) return reject(new Error(`${result.errors} failed requests: ${result.firstError}`));
      resolve(result);
    });
  });
}

async function references(s3: Kinbase, local: Kinbase): Promise<string[]> {
  await seedReferences(s3);
  await seedReferences(local);
  const rps: Record<string, number[]> = { s3: [], local: [] };
  const cold: Record<string, number> = { s3: 0, local: 0 };
  for (let round = 0; round < 2; round++) {
    for (const [name, kb] of [
      ['local', local],
      ['s3', s3],
    ] as const) {
      const result = await runLoad({
        mode: 'load',
        url: `${kb.base}/appdata/${APP.appKey}/things?limit=100`,
        auth: AUTH,
        concurrency: 4,
        maxRequests: 1_000_000,
        maxMs: REFS_SECONDS * 1000,
        cold: { from: cold[name] as number },
      });
      cold[name] = (cold[name] as number) + result.requests;
      rps[name]?.push(result.rps);
      process.stderr.write(`references round ${round + 1}: ${name} ${result.rps.toFixed(0)} req/s\n`);
    }
  }
  const [s3Rps, localRps] = [median(rps.s3 ?? []), median(rps.local ?? [])];
  return [
    `references: 100 records x 2 private KinveyFile references per read, cold signed-URL cache, 4 connections, ${REFS_SECONDS} s x 2 rounds: local disk ${localRps.toFixed(0)} req/s, S3 ${s3Rps.toFixed(0)} req/s, ratio ${(s3Rps / localRps).toFixed(2)} (goal >= 0.90)`,
  ];
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'kinbase-bench-s3-'));
  try {
    const gateway = await startVersitygw(path.join(work, 'versitygw'));
    const bucket = 'kinbase-bench';
    const admin = new S3Client({ ...CREDS, endpoint: gateway.endpoint, bucket, forcePathStyle: true });
    await admin.call({ method: 'PUT' });
    admin.close();
    const appEnv = {
      KINBASE_APP_KEY: APP.appKey,
      KINBASE_APP_SECRET: APP.appSecret,
      KINBASE_MASTER_SECRET: APP.masterSecret,
      KINBASE_UPLOAD_URL_TTL_SECONDS: '600',
    };
    const s3 = await startKinbase('kinbase on S3', {
      ...appEnv,
      KINBASE_DATA_DIR: path.join(work, 'kinbase-s3'),
      KINBASE_STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: gateway.endpoint,
      S3_ACCESS_KEY_ID: CREDS.accessKeyId,
      S3_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    const local = await startKinbase('kinbase on local disk', {
      ...appEnv,
      KINBASE_DATA_DIR: path.join(work, 'kinbase-local'),
    });
    const lines = [...(await uploads(s3, gateway.endpoint, bucket)), ...(await references(s3, local))];
    process.stdout.write(`s3 bench (versitygw ${gateway.endpoint}, same machine)\n${lines.join('\n')}\n`);
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  void stopAll().then(() => process.exit(1));
});
