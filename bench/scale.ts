/**
 * The scale table of issue 16: the embedded document store at 10k, 100k and 1M entities of ~1 KB,
 * measured through the real HTTP server (`node dist/src/server.js`), one column per size.
 *
 * Per size, on a fresh data dir: seed the entities through the store's own API with the server
 * stopped (bench/scale/seed.ts); start the server 3 times and take the median of spawn -> first
 * answered GET by id (a baseline: the same on an empty data dir, to the first ping);
 * then, one request at a time over keep-alive, with master credentials: GET by id, an equality
 * query on `category` (declared in the apps file as `indexes: ["category"]`, ~10 hits), a sort on
 * `_kmd.lmt` with limit 20, `_count`, a query on the non-indexed `price` (fewer samples); with a
 * user's session: the same indexed query, ACL-filtered (the collection is `private`, half the
 * entities `_acl.gr`). Then the server's RSS, then POST throughput over a short window.
 * Goals at 1M (issue 16): RSS < 300 MB, GET by id and indexed queries p50 < 2 ms, start < 1 s.
 *
 * Usage: npm run bench:scale [-- --sizes 10000,100000,1000000] [-- --work DIR]
 *   --work keeps each size's data dir in DIR/n<size> and reuses its seed on the next run.
 *   BENCH_KINBASE_NODE_ARGS (bench/node-args.ts) changes the server's node flags, e.g. to profile.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAppDefinitions } from '../src/config/load-config';
import { stopAll } from './kinbase-process';
import { basic, type Client, samples, type Samples } from './scale/http';
import { categoryOf, seed, type SeedResult } from './scale/seed';
import { rssOf, startTimed, stop } from './scale/server';
import { diskBytes } from './disk-bytes';

const APP_KEY = 'kid_scalebench';
const APP_SECRET = 'scalebench-app-secret-0001';
const MASTER_SECRET = 'scalebench-master-secret-0001';
const MASTER = basic(APP_KEY, MASTER_SECRET);
const COLLECTION = 'things';
const BASE = `/appdata/${APP_KEY}/${COLLECTION}`;
const POST_SECONDS = 5;
const POST_CONCURRENCY = 8;
const STARTS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const queryPath = (filter: unknown, extra = '') =>
  `${BASE}?query=${encodeURIComponent(JSON.stringify(filter))}${extra}`;

interface SizeResult {
  n: number;
  seed: SeedResult;
  startMs: number;
  get: Samples;
  equal: Samples;
  equalHits: number;
  userEqual: Samples;
  userHits: number;
  sortLimit: Samples;
  count: Samples;
  unindexed: Samples;
  rssBytes: number;
  postPerSec: number;
  diskBytes: number;
}

/** The apps file; `indexes` only when this build's config accepts it (see `indexesDeclared`). */
function appsFile(withIndexes: boolean): unknown[] {
  const things = withIndexes ? { permissions: 'private', indexes: ['category'] } : { permissions: 'private' };
  return [
    {
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      masterSecret: MASTER_SECRET,
      name: 'scale bench',
      collections: { [COLLECTION]: things },
    },
  ];
}

/** Whether the server's config accepts `collections.<name>.indexes` (the key issue 16 adds). */
function indexesDeclared(): { ok: boolean; problem?: string } {
  const problems: string[] = [];
  parseAppDefinitions(appsFile(true), 'bench apps file', problems);
  return problems.length === 0 ? { ok: true } : { ok: false, problem: problems.join('; ') };
}

/** Seeds dir (or reuses a seed a previous --work run left there, recorded in seed.json). */
async function seeded(dir: string, n: number): Promise<SeedResult> {
  const marker = path.join(dir, 'seed.json');
  if (existsSync(marker)) {
    const previous = JSON.parse(await readFile(marker, 'utf8')) as SeedResult & { n: number };
    if (previous.n === n) {
      log(`  reusing the seed in ${dir}`);
      return previous;
    }
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const result = await seed(
    path.join(dir, 'data'),
    { appKey: APP_KEY, collection: COLLECTION },
    n,
    APP_KEY,
    10_000,
    (done) => log(`  seeded ${done.toLocaleString('en-US')}`),
  );
  await writeFile(marker, JSON.stringify({ ...result, n }));
  return result;
}

async function postWindow(client: Client, n: number): Promise<number> {
  let posted = 0;
  const started = performance.now();
  const deadline = started + POST_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: POST_CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const i = n + posted++;
        await client.expect(201, 'POST', BASE, MASTER, {
          category: categoryOf(i, n),
          title: `posted ${i}`,
          price: i % 100_000,
          tags: ['alpha'],
          body: 'x'.repeat(650),
        });
      }
    }),
  );
  return posted / ((performance.now() - started) / 1000);
}

/** Median start time on an empty data dir, to the first answered ping: what no store work costs. */
async function emptyStart(dir: string): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const appsPath = path.join(dir, 'apps.json');
  await writeFile(appsPath, JSON.stringify(appsFile(false)));
  const starts: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const server = await startTimed(
      { KINBASE_DATA_DIR: path.join(dir, 'data'), KINBASE_APPS_FILE: appsPath },
      `/appdata/${APP_KEY}`,
      MASTER,
    );
    starts.push(server.startMs);
    server.client.close();
    await stop(server.child);
  }
  return median(starts);
}

async function measureSize(n: number, dir: string, declare: boolean): Promise<SizeResult> {
  log(`${n.toLocaleString('en-US')} entities`);
  const seedResult = await seeded(dir, n);
  log(`  seeded via ${seedResult.via}: ${Math.round(seedResult.perSec)}/s`);
  const appsPath = path.join(dir, 'apps.json');
  await writeFile(appsPath, JSON.stringify(appsFile(declare)));
  const ids = seedResult.ids;
  const env = { KINBASE_DATA_DIR: path.join(dir, 'data'), KINBASE_APPS_FILE: appsPath };
  const starts: number[] = [];
  let server = await startTimed(env, `${BASE}/${ids[0]}`, MASTER);
  // The median of 3 starts (the machine's load moves one start by hundreds of ms); the last one stays up.
  for (let i = 1; i < STARTS; i++) {
    starts.push(server.startMs);
    server.client.close();
    await stop(server.child);
    server = await startTimed(env, `${BASE}/${ids[(i * 7919) % ids.length]}`, MASTER);
  }
  starts.push(server.startMs);
  const startMs = median(starts);
  const { client } = server;
  try {
    log(`  answered after ${starts.map((t) => t.toFixed(0)).join(', ')} ms; measuring`);
    const user = `bench-user-${Date.now()}`;
    const signup = await client.expect(201, 'POST', `/user/${APP_KEY}`, basic(APP_KEY, APP_SECRET), {
      username: user,
      password: 'bench-password-0001',
    });
    const userAuth = `Kinvey ${(JSON.parse(signup.body) as { _kmd: { authtoken: string } })._kmd.authtoken}`;
    const categories = Math.max(1, Math.floor(n / 10));
    const category = (i: number) => categoryOf((i * 7919 + 13) % categories, n);
    const hits = { master: 0, user: 0 };
    const timed =
      (auth: string, pathOf: (i: number) => string, check?: (body: string) => void) => async (i: number) => {
        const reply = await client.expect(200, 'GET', pathOf(i), auth);
        check?.(reply.body);
        return reply.ms;
      };
    const list = (min: number, into?: 'master' | 'user') => (body: string) => {
      const length = (JSON.parse(body) as unknown[]).length;
      if (length < min) throw new Error(`expected at least ${min} entities, got ${length}`);
      if (into) hits[into] += length;
    };
    const getById = timed(MASTER, (i) => `${BASE}/${ids[(i * 7919) % ids.length]}`);
    const equal = timed(MASTER, (i) => queryPath({ category: category(i) }), list(1, 'master'));
    const userEqual = timed(userAuth, (i) => queryPath({ category: category(i) }), list(0, 'user'));
    const sortLimit = timed(
      MASTER,
      (i) => `${BASE}?sort=${encodeURIComponent('{"_kmd.lmt":-1}')}&limit=20&skip=${i % 50}`,
      list(20),
    );
    const count = timed(
      MASTER,
      () => `${BASE}/_count`,
      (body) => {
        if ((JSON.parse(body) as { count: number }).count < n) throw new Error(`_count below ${n}: ${body}`);
      },
    );
    const unindexed = timed(MASTER, (i) => queryPath({ price: (i * 7919 * 31) % 100_000 }), list(0));
    for (const warm of [getById, equal, userEqual, sortLimit, count]) await samples(20, 5000, (i) => warm(i + 100_000));
    hits.master = hits.user = 0; // count the measured queries only
    const result = {
      get: await samples(2000, 20_000, getById),
      equal: await samples(500, 20_000, equal),
      userEqual: await samples(500, 20_000, userEqual),
      sortLimit: await samples(500, 20_000, sortLimit),
      count: await samples(200, 20_000, count),
      unindexed: await samples(20, 30_000, unindexed),
    };
    const rssBytes = rssOf(server.child.pid as number);
    log('  POST window');
    const postPerSec = await postWindow(client, n);
    return {
      n,
      seed: seedResult,
      startMs,
      ...result,
      rssBytes,
      postPerSec,
      diskBytes: diskBytes(path.join(dir, 'data')),
      equalHits: hits.master / result.equal.sorted.length,
      userHits: hits.user / result.userEqual.sorted.length,
    };
  } finally {
    client.close();
    await stop(server.child);
  }
}

interface Row {
  label: string;
  value: (r: SizeResult) => number;
  format: (v: number) => string;
  /** The goal at 1M: the value must stay below it. */
  below?: number;
}

const ms = (v: number) => (v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`);
const mb = (v: number) => `${(v / 1024 / 1024).toFixed(0)} MB`;
const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
const ROWS: Row[] = [
  { label: 'seed via the store API', value: (r) => r.seed.perSec, format: rate },
  { label: `HTTP POST, ${POST_CONCURRENCY} connections, ${POST_SECONDS} s`, value: (r) => r.postPerSec, format: rate },
  { label: 'start: spawn -> first GET by id', value: (r) => r.startMs, format: ms, below: 1000 },
  { label: 'GET by id p50', value: (r) => r.get.p50, format: ms, below: 2 },
  { label: 'GET by id p99', value: (r) => r.get.p99, format: ms },
  { label: 'indexed equality p50 (master)', value: (r) => r.equal.p50, format: ms, below: 2 },
  { label: 'indexed equality p50 (user, ACL)', value: (r) => r.userEqual.p50, format: ms, below: 2 },
  { label: 'sort _kmd.lmt, limit 20 p50', value: (r) => r.sortLimit.p50, format: ms },
  { label: '_count p50', value: (r) => r.count.p50, format: ms },
  { label: 'non-indexed query p50', value: (r) => r.unindexed.p50, format: ms },
  { label: 'server RSS after the queries', value: (r) => r.rssBytes, format: mb, below: 300 * 1024 * 1024 },
  { label: 'data dir on disk', value: (r) => r.diskBytes, format: mb },
];

function report(results: SizeResult[], declared: { ok: boolean; problem?: string }, baselineMs: number): string {
  const last = results[results.length - 1];
  if (!last) return 'no results';
  const goalAt = last.n === 1_000_000 ? 'at 1M' : `at ${last.n.toLocaleString('en-US')} (goal is for 1M)`;
  const width = 14;
  const lines = [
    `scale: the embedded store through the HTTP server, entities of ~1 KB (node ${process.version}, ${process.platform}/${process.arch})`,
    [
      'measure'.padEnd(36),
      ...results.map((r) => r.n.toLocaleString('en-US').padStart(width)),
      'goal at 1M'.padStart(13),
      `  status ${goalAt}`,
    ].join(''),
  ];
  for (const row of ROWS) {
    const goal = row.below === undefined ? '' : `< ${row.format(row.below)}`;
    const status = row.below === undefined ? '' : row.value(last) < row.below ? 'PASS' : 'MISS';
    lines.push(
      [
        row.label.padEnd(36),
        ...results.map((r) => row.format(row.value(r)).padStart(width)),
        goal.padStart(13),
        `  ${status}`,
      ]
        .join('')
        .trimEnd(),
    );
  }
  const hits = results.map((r) => `${r.equalHits.toFixed(1)}/${r.userHits.toFixed(1)}`).join(', ');
  lines.push(
    `seeded via ${[...new Set(results.map((r) => r.seed.via))].join(', ')}; entities per indexed query, master/user: ${hits}`,
    `start: median of ${STARTS} (spawn -> first 200); on an empty data dir, to the first ping: ${ms(baselineMs)} (node and kinbase alone)`,
    `samples: GET ${results.map((r) => r.get.sorted.length).join('/')}, indexed ${results.map((r) => r.equal.sorted.length).join('/')}, non-indexed ${results.map((r) => r.unindexed.sorted.length).join('/')} (one request at a time, keep-alive, loopback)`,
    declared.ok
      ? 'category is declared in the apps file (collections.things.indexes: ["category"])'
      : `category is NOT declared: this build's config rejects collections.<name>.indexes (${declared.problem})`,
    `command: npm run bench:scale -- --sizes ${results.map((r) => r.n).join(',')}`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sizes = (option('sizes') ?? '10000,100000,1000000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 100))
    throw new Error('--sizes takes integers >= 100, e.g. --sizes 10000,100000');
  const declared = indexesDeclared();
  if (!declared.ok) log(`note: ${declared.problem}; measuring without the declared index`);
  const keepDir = option('work');
  const work = keepDir ? path.resolve(keepDir) : await mkdtemp(path.join(tmpdir(), 'kinbase-scale-'));
  const results: SizeResult[] = [];
  let baselineMs = NaN;
  try {
    baselineMs = await emptyStart(path.join(work, 'empty'));
    for (const n of sizes) results.push(await measureSize(n, path.join(work, `n${n}`), declared.ok));
  } finally {
    await stopAll();
    if (!keepDir) await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(`${report(results, declared, baselineMs)}\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
