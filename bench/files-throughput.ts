/**
 * Files throughput: a 1 GiB upload and download through kinbase's local backend (POST metadata,
 * PUT to the signed upload URL, GET metadata, GET the signed download URL) against a plain
 * node:http stream-to-disk server, on the same machine. Both servers run as child processes; this
 * process only generates load. Rounds alternate baseline and kinbase; medians and ratios are
 * printed, plus the peak RSS (VmHWM) of the kinbase process. Goals: ratio >= 0.8, RSS < 200 MB.
 *
 * Usage: npm run bench:files   (BENCH_FILE_MB=1024 and BENCH_ROUNDS=3 by default)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { freePort } from './free-port';
import { kinbaseNodeArgs } from './node-args';
import { tmpdir } from 'node:os';
import path from 'node:path';

const MB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_FILE_MB ?? 1024) * MB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = randomBytes(MB);

function start(args: string[], env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(readyText)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
}

/** Streams SIZE bytes (a repeated random MiB) as the body of one request; resolves with the response. */
function upload(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
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

/** Downloads and discards the body; returns the byte count. */
function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.once('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`download ${res.statusCode}`))));
    })
      .once('error', reject)
      .end();
  });
}

async function api(method: string, url: string, auth: string, body?: unknown): Promise<Record<string, string>> {
  const res = await fetch(url, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

/** CPU seconds (user + system, all threads) the process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

type Phase = 'baseUp' | 'baseDown' | 'kbUp' | 'kbDown';
const wall: Record<Phase, number[]> = { baseUp: [], baseDown: [], kbUp: [], kbDown: [] };
const cpu: Record<Phase, number[]> = { baseUp: [], baseDown: [], kbUp: [], kbDown: [] };

/** Runs `work`, recording its wall seconds and the CPU seconds the server `pid` spent meanwhile. */
async function timed(phase: Phase, pid: number, work: () => Promise<unknown>): Promise<void> {
  const [started, cpuBefore] = [process.hrtime.bigint(), await cpuSeconds(pid)];
  await work();
  wall[phase].push(Number(process.hrtime.bigint() - started) / 1e9);
  cpu[phase].push((await cpuSeconds(pid)) - cpuBefore);
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-'));
  const [basePort, kbPort] = [await freePort(), await freePort()];
  const appKey = 'kid_bench';
  const masterSecret = randomBytes(12).toString('hex');
  const auth = `Basic ${Buffer.from(`${appKey}:${masterSecret}`).toString('base64')}`;
  const baseline = await start(
    [path.join(__dirname, 'files-baseline-server.js'), path.join(work, 'baseline'), String(basePort)],
    {},
    'ready',
  );
  const kinbase = await start(
    [...kinbaseNodeArgs(), path.join(__dirname, '../src/server.js')],
    {
      PORT: String(kbPort),
      KINBASE_DATA_DIR: path.join(work, 'kinbase'),
      KINBASE_PUBLIC_URL: `http://127.0.0.1:${kbPort}`,
      KINBASE_APP_KEY: appKey,
      KINBASE_APP_SECRET: randomBytes(12).toString('hex'),
      KINBASE_MASTER_SECRET: masterSecret,
      KINBASE_LOG_LEVEL: 'warn',
      // One process: its CPU time and peak RSS are read from /proc by this pid.
      KINBASE_WORKERS: '1',
      KINBASE_UPLOAD_URL_TTL_SECONDS: '600',
    },
    'kinbase is serving',
  );
  await import('node:fs/promises').then((fs) => fs.mkdir(path.join(work, 'baseline'), { recursive: true }));

  const [basePid, kbPid] = [baseline.pid as number, kinbase.pid as number];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const baseUrl = `http://127.0.0.1:${basePort}/round${round}`;
      await timed('baseUp', basePid, async () => {
        const res = await upload(baseUrl, { 'Content-Type': 'application/octet-stream' });
        res.resume();
        if (res.statusCode !== 200) throw new Error(`baseline upload ${res.statusCode}`);
      });
      await timed('baseDown', basePid, async () => {
        if ((await download(baseUrl)) !== SIZE) throw new Error('short baseline download');
      });
      await rm(path.join(work, 'baseline', `_round${round}`), { force: true });

      const id = `bench-${round}`;
      await timed('kbUp', kbPid, async () => {
        const meta = await api('POST', `http://127.0.0.1:${kbPort}/blob/${appKey}`, auth, {
          _id: id,
          size: SIZE,
          mimeType: 'application/octet-stream',
        });
        const res = await upload(meta._uploadURL as string, {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes 0-${SIZE - 1}/${SIZE}`,
        });
        res.resume();
        if (res.statusCode !== 200) throw new Error(`kinbase upload ${res.statusCode}`);
      });
      await timed('kbDown', kbPid, async () => {
        const meta = await api('GET', `http://127.0.0.1:${kbPort}/blob/${appKey}/${id}`, auth);
        if ((await download(meta._downloadURL as string)) !== SIZE) throw new Error('short kinbase download');
      });
      await api('DELETE', `http://127.0.0.1:${kbPort}/blob/${appKey}/${id}`, auth);
      const at = (phase: Phase) => (SIZE / MB / (wall[phase][round - 1] as number)).toFixed(0);
      process.stderr.write(
        `round ${round}/${ROUNDS}: upload ${at('baseUp')} vs ${at('kbUp')} MiB/s, download ${at('baseDown')} vs ${at('kbDown')} MiB/s (node:http vs kinbase)\n`,
      );
    }
    const rss = await peakRssMb(kbPid);
    const mbps = (s: number) => SIZE / MB / s;
    const perGiB = (phase: Phase) => ((median(cpu[phase]) * 1024 * MB) / SIZE).toFixed(2).padStart(6);
    const row = (name: string, base: Phase, kb: Phase) =>
      `${name.padEnd(10)} ${mbps(median(wall[base])).toFixed(0).padStart(10)} ${mbps(median(wall[kb])).toFixed(0).padStart(10)} ${(mbps(median(wall[kb])) / mbps(median(wall[base]))).toFixed(2).padStart(7)}   ${perGiB(base)} ${perGiB(kb)}`;
    const lines = [
      `files bench: ${SIZE / MB} MiB, ${ROUNDS} alternating rounds, medians; CPU is the server process's (all threads), seconds per GiB`,
      `${'direction'.padEnd(10)} ${'node:http'.padStart(10)} ${'kinbase'.padStart(10)} ${'ratio'.padStart(7)}   ${'CPU: node:http'.padStart(6)} ${'kinbase'}`,
      row('upload', 'baseUp', 'kbUp'),
      row('download', 'baseDown', 'kbDown'),
      `throughput in MiB/s; kinbase peak RSS (VmHWM): ${rss.toFixed(0)} MB   goals: ratio >= 0.80, RSS < 200 MB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    const exited = [baseline, kinbase].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    baseline.kill('SIGTERM');
    kinbase.kill('SIGTERM');
    await Promise.all(exited);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
