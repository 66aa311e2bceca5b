/**
 * `npm run bench:workers`: kinbase with KINBASE_WORKERS=1 and =all cores against PocketBase, side
 * by side in one run, on the job of bench/references.ts: 100 records holding 2 file references
 * each, listed with the references expanded, private and public files, embedded store. Load comes
 * from a separate keep-alive client process (bench/references-load.ts), 8 connections, rounds
 * rotating over the servers (medians). CPU per request is the servers' whole process tree's CPU
 * time (/proc) over the requests answered.
 *
 * Then writes (8 clients creating 1 KB entities, 1 worker against all: req/s and p99) and a
 * 100 MB resumable upload whose chunks alternate between the workers (identical md5).
 * PocketBase: POCKETBASE_BIN or $(go env GOPATH)/bin/pocketbase, v0.36.8 (`bash scripts/install-test-servers.sh --bench` builds it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { startKinbase, stopAll, track, type Kinbase } from './kinbase-process';
import type { LoadResult, LoadSpec } from './references-load';

const LOAD_SCRIPT = path.join(__dirname, 'references-load.js');
const APP_KEY = 'kid_bench';
const MASTER = 'bench-master-secret';
const AUTH = `Basic ${Buffer.from(`${APP_KEY}:${MASTER}`).toString('base64')}`;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ALL = availableParallelism();
const TICKS = 100;
/** Data dirs made by this run, removed at its end. */
const dirs: string[] = []; // clock ticks per second of /proc/<pid>/stat (USER_HZ)

interface Target {
  name: string;
  base: string;
  pid: number;
  urls: { private: string; public: string };
  auth: string;
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = track(
    spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`)),
    ),
  );
}

/** CPU seconds used so far by `pid` and every process below it. */
function treeCpu(pid: number): number {
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  let ticks = 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    ticks = Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
  return ticks / TICKS + kids.reduce((sum, kid) => sum + treeCpu(kid), 0);
}

async function json(method: string, url: string, body: unknown, auth: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json', 'X-Kinvey-API-Version': '5' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

// ---------------------------------------------------------------- kinbase

async function kinbase(workers: number): Promise<Target & { kb: Kinbase }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kinbase-bench-workers-'));
  dirs.push(dir);
  const kb = await startKinbase(`kinbase x${workers}`, {
    KINBASE_DATA_DIR: dir,
    KINBASE_WORKERS: String(workers),
    KINBASE_APP_KEY: APP_KEY,
    KINBASE_APP_SECRET: 'bench-app-secret',
    KINBASE_MASTER_SECRET: MASTER,
  });
  for (const visibility of ['private', 'public'] as const) {
    for (const id of [`${visibility}-a`, `${visibility}-b`]) {
      const bytes = randomBytes(1024);
      const ticket = await json(
        'POST',
        `${kb.base}/blob/${APP_KEY}`,
        {
          _id: id,
          _filename: `${id}.bin`,
          mimeType: 'application/octet-stream',
          size: bytes.length,
          _public: visibility === 'public',
        },
        AUTH,
      );
      const target = new URL(ticket._uploadURL as string);
      target.host = `127.0.0.1:${kb.port}`;
      const res = await fetch(target, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes,
      });
      if (!res.ok) throw new Error(`upload ${id}: ${res.status}`);
    }
    for (let i = 0; i < 100; i++)
      await json(
        'POST',
        `${kb.base}/appdata/${APP_KEY}/${visibility}`,
        {
          _id: `e${i}`,
          name: `entity ${i}`,
          photo: { _type: 'KinveyFile', _id: `${visibility}-a` },
          thumb: { _type: 'KinveyFile', _id: `${visibility}-b` },
        },
        AUTH,
      );
    const list = (await json('GET', `${kb.base}/appdata/${APP_KEY}/${visibility}`, undefined, AUTH)) as unknown as {
      photo: { _downloadURL?: string };
    }[];
    if (list.length !== 100 || !list[0]?.photo._downloadURL) throw new Error('references did not resolve');
  }
  return {
    name: `kinbase, ${workers} worker${workers === 1 ? '' : 's'}`,
    base: kb.base,
    pid: kb.child.pid as number,
    urls: { private: `${kb.base}/appdata/${APP_KEY}/private`, public: `${kb.base}/appdata/${APP_KEY}/public` },
    auth: AUTH,
    kb,
  };
}

// ---------------------------------------------------------------- PocketBase

function pocketbaseBinary(): string {
  if (process.env.POCKETBASE_BIN) return process.env.POCKETBASE_BIN;
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).stdout.trim() || '/root/go';
  return path.join(gopath, 'bin', 'pocketbase');
}

async function pocketbase(): Promise<Target> {
  const bin = pocketbaseBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'pocketbase-bench-'));
  dirs.push(dir);
  // A password of this run's own: a health check answered by some other PocketBase that took the
  // port first (other benches run on this machine) then fails the sign-in, and a new port is tried.
  const password = randomBytes(12).toString('hex');
  const up = spawnSync(bin, ['superuser', 'upsert', 'bench@example.com', password, '--dir', dir], {
    encoding: 'utf8',
  });
  if (up.status !== 0) throw new Error(`pocketbase superuser: ${up.stderr}`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // No migration files: by default PocketBase writes one per collection created into
    // <dir>/../pb_migrations (shared by every run under /tmp) and replays them on the next start.
    const child = track(
      spawn(
        bin,
        [
          'serve',
          '--http',
          `127.0.0.1:${port}`,
          '--dir',
          dir,
          '--automigrate=false',
          '--migrationsDir',
          path.join(dir, 'migrations'),
        ],
        { stdio: 'ignore' },
      ),
    );
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      const ok = await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const signin = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ identity: 'bench@example.com', password }),
    }).catch(() => undefined);
    if (child.exitCode === null && signin?.ok) {
      const token = ((await signin.json()) as { token: string }).token;
      return seedPocketbase(base, token, child.pid as number);
    }
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error('pocketbase did not start');
  }
}

async function seedPocketbase(base: string, auth: string, pid: number): Promise<Target> {
  const urls: Record<string, string> = {};
  for (const visibility of ['private', 'public'] as const) {
    const files = await json(
      'POST',
      `${base}/api/collections`,
      {
        name: `${visibility}_files`,
        type: 'base',
        listRule: '',
        viewRule: '',
        fields: [{ name: 'file', type: 'file', maxSelect: 1, maxSize: 1048576, protected: visibility === 'private' }],
      },
      auth,
    );
    await json(
      'POST',
      `${base}/api/collections`,
      {
        name: `${visibility}_records`,
        type: 'base',
        listRule: '',
        viewRule: '',
        fields: [
          { name: 'name', type: 'text' },
          { name: 'refs', type: 'relation', collectionId: files.id, maxSelect: 2 },
        ],
      },
      auth,
    );
    const ids: string[] = [];
    for (const n of ['a', 'b']) {
      const form = new FormData();
      form.append('file', new Blob([randomBytes(1024)]), `${visibility}-${n}.bin`);
      const res = await fetch(`${base}/api/collections/${visibility}_files/records`, {
        method: 'POST',
        headers: { Authorization: auth },
        body: form,
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (let i = 0; i < 100; i++)
      await json(
        'POST',
        `${base}/api/collections/${visibility}_records/records`,
        { name: `entity ${i}`, refs: ids },
        auth,
      );
    urls[visibility] = `${base}/api/collections/${visibility}_records/records?perPage=100&expand=refs`;
  }
  return {
    name: 'PocketBase v0.36.8',
    base,
    pid,
    urls: { private: urls.private as string, public: urls.public as string },
    auth,
  };
}

// ---------------------------------------------------------------- measurements

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function reads(targets: Target[]): Promise<void> {
  const rows = new Map<string, { rps: number[]; cpu: number; requests: number }>();
  for (let round = 0; round < ROUNDS; round++)
    for (let t = 0; t < targets.length; t++) {
      const target = targets[(t + round) % targets.length] as Target;
      for (const kind of ['private', 'public'] as const) {
        const cpuBefore = treeCpu(target.pid);
        const result = await runLoad({
          mode: 'load',
          url: target.urls[kind],
          auth: target.auth,
          concurrency: 8,
          maxRequests: 1e7,
          maxMs: SECONDS * 1000,
        });
        if (result.errors > 0) throw new Error(`${target.name} ${kind}: ${result.errors} errors: ${result.firstError}`);
        const row = rows.get(`${target.name}|${kind}`) ?? { rps: [], cpu: 0, requests: 0 };
        row.rps.push(result.rps);
        row.cpu += treeCpu(target.pid) - cpuBefore;
        row.requests += result.requests;
        rows.set(`${target.name}|${kind}`, row);
      }
    }
  console.log(
    `\nreads: 100 records x 2 references, 8 connections, ${ROUNDS} rounds of ${SECONDS} s (medians); ${ALL} cores`,
  );
  console.log('| server | files | req/s | CPU ms/request | cores used | vs 1 worker | vs PocketBase |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  const rpsOf = (name: string, kind: string) => median(rows.get(`${name}|${kind}`)?.rps ?? [0]);
  for (const target of targets)
    for (const kind of ['private', 'public']) {
      const row = rows.get(`${target.name}|${kind}`)!;
      const rps = median(row.rps);
      const cpuMs = (row.cpu * 1000) / row.requests;
      const one = rpsOf(targets[0]!.name, kind);
      const pb = rpsOf(targets[targets.length - 1]!.name, kind);
      console.log(
        `| ${target.name} | ${kind} | ${rps.toFixed(0)} | ${cpuMs.toFixed(2)} | ${((rps * cpuMs) / 1000).toFixed(2)} | ${(rps / one).toFixed(2)} | ${(rps / pb).toFixed(2)} |`,
      );
    }
}

/** 8 clients creating 1 KB entities for SECONDS: req/s and p99. */
async function writes(target: Target): Promise<{ rps: number; p99: number }> {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
  const payload = 'x'.repeat(1000);
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; Date.now() < end; i++) {
        const t0 = performance.now();
        const status = await post(
          agent,
          `${target.base}/appdata/${APP_KEY}/writes`,
          JSON.stringify({ client: c, i, payload }),
        );
        if (status !== 201) throw new Error(`write answered ${status}`);
        latencies.push(performance.now() - t0);
      }
      agent.destroy();
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / ((Date.now() - started) / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { Authorization: AUTH, 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A 100 MB resumable upload in 8 MB chunks, alternating between worker connections; true if the md5s match. */
async function alternatingUpload(target: Target): Promise<{ md5: string; expected: string; workers: string[] }> {
  const data = randomBytes(100 * 1024 * 1024);
  const expected = createHash('md5').update(data).digest('hex');
  const ticket = await json(
    'POST',
    `${target.base}/blob/${APP_KEY}`,
    { _filename: 'big.bin', mimeType: 'application/octet-stream', size: data.length },
    AUTH,
  );
  const url = new URL(ticket._uploadURL as string);
  url.host = new URL(target.base).host;
  const seen: string[] = [];
  const chunk = 8 * 1024 * 1024;
  for (let start = 0; start < data.length; start += chunk) {
    const stop = Math.min(start + chunk, data.length);
    // A new connection each time: the cluster hands each to the next worker in turn.
    const worker = await new Promise<string>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'PUT',
          agent: false,
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Range': `bytes ${start}-${stop - 1}/${data.length}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 308 || res.statusCode === 200
              ? resolve(String(res.headers['x-kinbase-worker']))
              : reject(new Error(`chunk: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(data.subarray(start, stop));
    });
    seen.push(worker);
  }
  const meta = await json('GET', `${target.base}/blob/${APP_KEY}/${ticket._id as string}`, undefined, AUTH);
  return { md5: (meta._uploadState as { md5: string }).md5, expected, workers: seen };
}

async function main(): Promise<void> {
  const one = await kinbase(1);
  const all = await kinbase(ALL);
  const pb = await pocketbase();
  await reads([one, all, pb]);
  const w1 = await writes(one);
  const wAll = await writes(all);
  console.log(`\nwrites: 8 clients creating 1 KB entities for ${SECONDS} s`);
  console.log(`| server | req/s | p99 ms |\n|---|---:|---:|`);
  console.log(
    `| ${one.name} | ${w1.rps.toFixed(0)} | ${w1.p99.toFixed(1)} |\n| ${all.name} | ${wAll.rps.toFixed(0)} | ${wAll.p99.toFixed(1)} |`,
  );
  console.log(`all/1 = ${(wAll.rps / w1.rps).toFixed(2)}`);
  const upload = await alternatingUpload(all);
  console.log(
    `\n100 MB resumable upload, 8 MB chunks answered by workers ${upload.workers.join(',')}: md5 ${upload.md5} ${upload.md5 === upload.expected ? '= the bytes sent' : `!= ${upload.expected}`}`,
  );
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
