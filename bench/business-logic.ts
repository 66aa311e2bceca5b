/**
 * Business Logic bench: the latency a collection hook adds to a request, side by side in one run
 * against one built server (`node dist/src/server.js`, embedded store). One app, three
 * collections, each read with GET /appdata/<app>/<collection>/_count:
 *   none       no hook
 *   internal   onPreFetch `function onPreFetch(request, response, modules) { response.continue(); }`
 *              in the sandbox
 *   flex       onPreFetch calling a no-op handler of a real kinvey-flex-sdk service (bench/flex)
 * Requests go one at a time, round-robin over the three, so each sees the same machine state;
 * printed: p50/p90/p99 per collection and the p50 each hook adds.
 *
 * Then the event loop: plain requests (no hook) while 4 concurrent requests run a hook that spins
 * for 200 ms of CPU each. With hook code off the event loop, the plain requests' latency stays
 * that of an idle server; printed as the ratio of their p50 and p99 to the idle ones.
 *
 * Usage: npm run bench:business-logic   (BENCH_REQUESTS=2000 per collection)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { startKinbase, stopAll, track } from './kinbase-process';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const APP_KEY = 'kid_blbench';
const APP_SECRET = 'blbench-app-secret-0001';
const MASTER_SECRET = 'blbench-master-secret-0001';
const FLEX_SECRET = 'blbench-flex-secret';
const AUTH = `Basic ${Buffer.from(`${APP_KEY}:${MASTER_SECRET}`).toString('base64')}`;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function environmentFile(): unknown {
  const internal = (code: string) => ({ type: 'internal', code });
  return {
    schemaVersion: '1.0.0',
    configType: 'environment',
    collections: {
      none: { type: 'internal', permissions: 'shared' },
      internal: { type: 'internal', permissions: 'shared' },
      flex: { type: 'internal', permissions: 'shared' },
      busy: { type: 'internal', permissions: 'shared' },
    },
    collectionHooks: {
      internal: { onPreFetch: internal('function onPreFetch(request, response, modules) { response.continue(); }') },
      flex: {
        onPreFetch: { type: 'external', service: 'bench', serviceEnvironment: 'development', handlerName: 'noop' },
      },
      busy: {
        onPreFetch: internal(
          'function onPreFetch(request, response, modules) { var end = Date.now() + 200; while (Date.now() < end) {} response.continue(); }',
        ),
      },
    },
  };
}

async function startFlex(): Promise<string> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [path.join(__dirname, '../../bench/flex/noop-service.js')], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port), FLEX_SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Flex service did not start within 15 s')), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the Flex service exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

function get(base: string, collection: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/appdata/${APP_KEY}/${collection}/_count`,
      { agent, headers: { authorization: AUTH } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
            : reject(new Error(`${collection}: ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (value: number) => `${value.toFixed(3)} ms`;

async function latencies(base: string, collections: string[], rounds: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(collections.map((c) => [c, []]));
  for (let i = 0; i < rounds; i++) for (const c of collections) out[c]?.push(await get(base, c));
  for (const list of Object.values(out)) list.sort((a, b) => a - b);
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-bl-'));
  try {
    const flexUrl = await startFlex();
    await writeFile(path.join(dir, 'env.json'), JSON.stringify(environmentFile()));
    await writeFile(
      path.join(dir, 'apps.json'),
      JSON.stringify([
        {
          appKey: APP_KEY,
          appSecret: APP_SECRET,
          masterSecret: MASTER_SECRET,
          environmentFile: 'env.json',
          flexServices: { bench: { host: flexUrl, secret: FLEX_SECRET } },
        },
      ]),
    );
    const kinbase = await startKinbase('kinbase', {
      KINBASE_DATA_DIR: path.join(dir, 'data'),
      KINBASE_APPS_FILE: path.join(dir, 'apps.json'),
    });
    await latencies(kinbase.base, ['none', 'internal', 'flex'], 200); // warm-up: isolates, sockets, JIT
    const measured = await latencies(kinbase.base, ['none', 'internal', 'flex'], REQUESTS);
    const base50 = quantile(measured.none ?? [], 0.5);
    console.log(`hook latency, ${REQUESTS} requests each, round-robin, one at a time (GET _count, embedded store)`);
    for (const [name, list] of Object.entries(measured)) {
      const p50 = quantile(list, 0.5);
      console.log(
        `  ${name.padEnd(9)} p50 ${ms(p50)}  p90 ${ms(quantile(list, 0.9))}  p99 ${ms(quantile(list, 0.99))}  added at p50 ${name === 'none' ? '-' : ms(p50 - base50)}`,
      );
    }

    const idle = await latencies(kinbase.base, ['none'], 300);
    let spinning = true;
    const spinners = Array.from({ length: 4 }, async () => {
      while (spinning) await get(kinbase.base, 'busy');
    });
    const loaded = await latencies(kinbase.base, ['none'], 300);
    spinning = false;
    await Promise.all(spinners);
    const [i50, i99, l50, l99] = [
      quantile(idle.none ?? [], 0.5),
      quantile(idle.none ?? [], 0.99),
      quantile(loaded.none ?? [], 0.5),
      quantile(loaded.none ?? [], 0.99),
    ];
    console.log('plain requests while 4 requests run a 200 ms CPU-bound hook each');
    console.log(`  idle      p50 ${ms(i50)}  p99 ${ms(i99)}`);
    console.log(
      `  spinning  p50 ${ms(l50)}  p99 ${ms(l99)}  ratio p50 ${(l50 / i50).toFixed(2)}x  p99 ${(l99 / i99).toFixed(2)}x`,
    );
  } finally {
    agent.destroy();
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
