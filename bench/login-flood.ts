/**
 * Login flood bench: an honest client's file download latency while 32 concurrent wrong-password
 * logins hit the same server. kinbase runs as a child process (`node dist/src/server.js`, embedded
 * store, local disk objects); the flood comes from a second child process (this file with
 * `--flood`); this process downloads a 64 KiB private file through its signed URL back to back
 * (5 ms pause) and records each latency. Loopback only; every phase is bounded by BENCH_SECONDS
 * and by BENCH_MAX_REQUESTS flood requests.
 *
 * Phases, in one run against one server, each flood from fresh loopback source addresses so the
 * limiter's state from one phase does not decide the next:
 *   idle            no flood
 *   same-username   32 concurrent logins for one username from one address (127.0.0.2)
 *   many-usernames  rotating usernames from one address (127.0.0.3): the client limit stops it
 *   many-clients    rotating usernames and source addresses (127.1.x.y, 20 requests each), under
 *                   both limits, so every attempt is hashed: the pool's isolation alone is measured
 * Printed: download p50/p99/max and ratios to idle, and the flood's answers (401 hashed and wrong,
 * 429 throttled) and rate.
 *
 * Usage: npm run bench:login-flood   (BENCH_SECONDS=8, BENCH_MAX_REQUESTS=20000; BENCH_KINBASE_ENTRY
 *        runs another build's server.js, e.g. the code before a change, for comparison)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kinbaseNodeArgs } from './node-args';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 20000);
const CONCURRENCY = 32;
const FILE_BYTES = 64 * 1024;
const APP_KEY = 'kid_loginflood';
const APP_SECRET = 'loginflood-app-secret-0001';
const MASTER_SECRET = 'loginflood-master-secret-0001';
const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const SERVER_ENTRY = process.env.BENCH_KINBASE_ENTRY ?? path.join(__dirname, '../src/server.js');

type Phase = 'same-username' | 'many-usernames' | 'many-clients';
interface FloodSpec {
  base: string;
  phase: Phase;
  seconds: number;
  maxRequests: number;
}
interface FloodResult {
  sent: number;
  statuses: Record<string, number>;
  seconds: number;
}

// ---------------------------------------------------------------- the flood (child process)

/** Which username and source address the i-th login of a phase uses. */
function attemptOf(phase: Phase, i: number): { username: string; from: string } {
  if (phase === 'same-username') return { username: 'victim', from: '127.0.0.2' };
  if (phase === 'many-usernames') return { username: `user${i % 997}`, from: '127.0.0.3' };
  const client = Math.floor(i / 20) + 1;
  return { username: `user${i % 997}`, from: `127.1.${(client >> 8) & 255}.${client & 255}` };
}

async function flood(spec: FloodSpec): Promise<FloodResult> {
  const agents = new Map<string, Agent>();
  const agentFor = (from: string) => {
    let agent = agents.get(from);
    if (!agent) agents.set(from, (agent = new Agent({ keepAlive: true, localAddress: from })));
    return agent;
  };
  const statuses: Record<string, number> = {};
  const started = Date.now();
  const deadline = started + spec.seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && next < spec.maxRequests) {
      const { username, from } = attemptOf(spec.phase, next++);
      const body = JSON.stringify({ username, password: `wrong-${randomBytes(4).toString('hex')}` });
      const status = await new Promise<number>((resolve) => {
        const req = request(
          `${spec.base}/user/${APP_KEY}/login`,
          {
            method: 'POST',
            agent: agentFor(from),
            headers: {
              Authorization: basic(APP_KEY, APP_SECRET),
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.once('error', () => resolve(0));
        req.end(body);
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  for (const agent of agents.values()) agent.destroy();
  return { sent: next, statuses, seconds: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------- the honest client and the run

async function startKinbase(dataDir: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [...kinbaseNodeArgs(), SERVER_ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      KINBASE_DATA_DIR: dataDir,
      KINBASE_LOG_LEVEL: 'warn',
      KINBASE_APP_KEY: APP_KEY,
      KINBASE_APP_SECRET: APP_SECRET,
      KINBASE_MASTER_SECRET: MASTER_SECRET,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kinbase: no "(port N)" within 20 s:\n${out}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /\(port (\d+)\)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`kinbase exited with ${code}:\n${out}`)));
  });
  // From here on the server's output is only counted: keeping (and searching) it would load this process.
  child.stdout?.removeAllListeners('data');
  child.stdout?.on('data', (d: Buffer) => (serverOutputBytes += d.length));
  return { child, base: `http://127.0.0.1:${port}` };
}
let serverOutputBytes = 0;

async function api(method: string, url: string, auth: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The honest user's private file: uploaded through the Files API; returns its signed download URL. */
async function setUp(base: string): Promise<string> {
  const master = basic(APP_KEY, MASTER_SECRET);
  await api('POST', `${base}/user/${APP_KEY}`, master, { username: 'victim', password: 'victim-password-1' });
  await api('POST', `${base}/user/${APP_KEY}`, master, { username: 'honest', password: 'honest-password-1' });
  const login = await api('POST', `${base}/user/${APP_KEY}/login`, basic(APP_KEY, APP_SECRET), {
    username: 'honest',
    password: 'honest-password-1',
  });
  const auth = `Kinvey ${(login._kmd as { authtoken: string }).authtoken}`;
  const meta = await api('POST', `${base}/blob/${APP_KEY}`, auth, {
    _filename: 'photo.bin',
    size: FILE_BYTES,
    mimeType: 'application/octet-stream',
  });
  const put = await fetch(meta._uploadURL as string, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: randomBytes(FILE_BYTES),
  });
  if (!put.ok) throw new Error(`upload: ${put.status} ${await put.text()}`);
  const file = await api('GET', `${base}/blob/${APP_KEY}/${meta._id as string}`, auth);
  return file._downloadURL as string;
}

/** Downloads `url` back to back (5 ms apart) until `until` settles; latencies in ms. */
async function probe(url: string, until: Promise<unknown>): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const started = process.hrtime.bigint();
    const bytes = await new Promise<number>((resolve, reject) => {
      request(url, { agent }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.once('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`download ${res.statusCode}`))));
      })
        .once('error', reject)
        .end();
    });
    if (bytes !== FILE_BYTES) throw new Error(`short download: ${bytes}`);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  agent.destroy();
  return latencies;
}

/**
 * Starts the flood process; resolves once it has loaded (its start-up is not measured) with the
 * promise of its result, which it begins to earn when told to go.
 */
async function startFlood(spec: FloodSpec): Promise<{ go: () => Promise<FloodResult> }> {
  const child = fork(__filename, ['--flood', JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: unknown[] = [];
  const waiters: Array<(m: unknown) => void> = [];
  child.on('message', (m) => (waiters.length ? waiters.shift()!(m) : messages.push(m)));
  const failed = new Promise<never>((_, reject) =>
    child.once('exit', (code) => code !== 0 && reject(new Error(`flood exited with ${code}`))),
  );
  const next = () =>
    Promise.race([
      failed,
      new Promise((resolve) => (messages.length ? resolve(messages.shift()) : waiters.push(resolve))),
    ]);
  await next(); // 'ready'
  return {
    go: () => {
      child.send('go');
      return next() as Promise<FloodResult>;
    },
  };
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'kinbase-loginflood-'));
  const kinbase = await startKinbase(work);
  try {
    const url = await setUp(kinbase.base);
    await probe(url, new Promise((resolve) => setTimeout(resolve, 500))); // warm-up
    const rows: Array<{ name: string; latencies: number[]; flood?: FloodResult }> = [];
    rows.push({
      name: 'idle',
      latencies: await probe(url, new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))),
    });
    for (const phase of ['same-username', 'many-usernames', 'many-clients'] as const) {
      const flooding = (
        await startFlood({ base: kinbase.base, phase, seconds: SECONDS, maxRequests: MAX_REQUESTS })
      ).go();
      const [latencies, flood] = await Promise.all([probe(url, flooding), flooding]);
      rows.push({ name: phase, latencies, flood });
      process.stderr.write(
        `${phase}: ${flood.sent} logins, ${JSON.stringify(flood.statuses)}; server output so far ${serverOutputBytes} bytes\n`,
      );
    }
    const idle = rows[0]!.latencies;
    const ms = (x: number) => x.toFixed(1).padStart(8);
    const lines = [
      `login flood bench: ${CONCURRENCY} concurrent wrong-password logins, ${SECONDS} s or ${MAX_REQUESTS} logins per phase; honest client downloads a ${FILE_BYTES / 1024} KiB private file (signed URL) back to back`,
      `${'phase'.padEnd(15)} ${'downloads'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'p50/idle'.padStart(8)} ${'p99/idle'.padStart(8)}   logins: sent  401 hashed  429 throttled  other  per s`,
      ...rows.map(({ name, latencies, flood }) => {
        const s = flood?.statuses ?? {};
        const other = flood ? flood.sent - (s['401'] ?? 0) - (s['429'] ?? 0) : 0;
        const logins = flood
          ? `${String(flood.sent).padStart(12)} ${String(s['401'] ?? 0).padStart(11)} ${String(s['429'] ?? 0).padStart(14)} ${String(other).padStart(6)} ${(flood.sent / flood.seconds).toFixed(0).padStart(6)}`
          : '';
        return `${name.padEnd(15)} ${String(latencies.length).padStart(9)} ${ms(quantile(latencies, 0.5))} ${ms(quantile(latencies, 0.99))} ${ms(Math.max(...latencies))} ${(quantile(latencies, 0.5) / quantile(idle, 0.5)).toFixed(2).padStart(8)} ${(quantile(latencies, 0.99) / quantile(idle, 0.99)).toFixed(2).padStart(8)}   ${logins}`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    const exited = new Promise((resolve) => kinbase.child.once('exit', resolve));
    kinbase.child.kill('SIGTERM');
    await exited;
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--flood') {
  process.send?.('ready');
  new Promise((resolve) => process.once('message', resolve))
    .then(() => flood(JSON.parse(process.argv[3] ?? '') as FloodSpec))
    .then(
      (result) => process.send?.(result, () => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
} else {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
