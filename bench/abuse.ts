/**
 * Abuse bench: how much one attacker with an ordinary user account can slow everyone else down.
 * kinbase runs as a child process (`node dist/src/server.js`, embedded store, local disk); an
 * honest client in a second child process (bench/references-load.ts, probe mode) sends the
 * handshake `GET /appdata/:appKey` every 5 ms and records each latency, which is the event-loop
 * delay a user of the same server sees. Side by side in one run, for BENCH_SECONDS each:
 *
 * - idle:        no attacker;
 * - regex:       4 connections query 2,000 readable 1 KB entities with the most expensive `$regex`
 *                kinbase accepts (601 characters of `a*`, run by RE2 in linear time);
 * - body:        4 connections POST the largest body kinbase accepts (9,990 keys; 10,000 is the cap);
 * - references:  4 connections read one entity holding 1,000 references (the per-entity cap) to
 *                files whose uploads are still pending (the costliest kind to resolve);
 * - residual:    4 connections list their own 2,000 entities of a shared collection with
 *                `{"$and":[{"_kmd.lmt":{"$gt":""}},C,C]}`, C = `{"_acl.gr":{"$in":[0..998,true]}}`
 *                (index residual checks per candidate x key x clause);
 * - group-cond:  a `_group` condition of three more 1,000-key clauses of the same kind (~20 kB);
 * - regex-wide:  a `_group` condition of 8,000 `{"a":{"$regex":"\\pL{1000}"}}` branches on a
 *                collection that does not exist (validation compiling every regex);
 * - lookup-wide: the same 8,000 branches as a `POST /user/:appKey/_lookup` body;
 * - group-initial: `_group` by `_id` over the 2,000 entities with a 4.9 MB `initial`;
 * - basic-guess: Basic user credentials with a wrong password on API version 5 (the login pipeline);
 * - images:      the attacker re-uploads 20 large photos (3-12 MP JPEGs) one after another, each
 *                time reading it with `kinveyfile_variants=thumb,medium` and fetching both variant
 *                links, so every request makes kinbase decode and render a fresh generation;
 * - bl-flood:    24 connections call a data-heavy custom endpoint (it reads 2,000 1 KB entities of
 *                `items` through collectionAccess); here the honest client is a second
 *                user whose probe is a `_count` on a collection with an `onPreFetch` hook, so it
 *                measures the share of the app's isolates that user still gets.
 *
 * Prints p50/p99/max of the honest latency per phase and p99 relative to idle. Goal: p99 under
 * 50 ms in every phase. Loopback only; every loop is bounded by a count and a time limit.
 *
 * Usage: npm run bench:abuse   (BENCH_SECONDS=5; BENCH_ONLY=idle,references runs only those phases)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKinbase, stopAll, track } from './kinbase-process';
import type { LoadResult, LoadSpec } from './references-load';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ATTACKERS = 4;
const APP_KEY = 'kid_abusebench';
const APP_SECRET = 'abusebench-app-secret-01';
const MASTER_SECRET = 'abusebench-master-secret-01';
const MASTER = `Basic ${Buffer.from(`${APP_KEY}:${MASTER_SECRET}`).toString('base64')}`;
const APP = `Basic ${Buffer.from(`${APP_KEY}:${APP_SECRET}`).toString('base64')}`;
const LOAD_SCRIPT = path.join(__dirname, 'references-load.js');
const WORST_REGEX = `${'a*'.repeat(300)}b`;
const ENTITIES = 2000;
const REFERENCES = 1000;
const BODY_KEYS = 9_990;
const BL_ATTACKERS = 24;

/** The app's Business Logic: a data-heavy endpoint for the attacker, a hooked collection for the honest user. */
const ENVIRONMENT = {
  schemaVersion: '1.0.0',
  configType: 'environment',
  collections: {
    notes: { type: 'internal', permissions: 'private' },
    hooked: { type: 'internal', permissions: 'shared' },
    pub: { type: 'internal', permissions: 'shared' },
  },
  collectionHooks: {
    hooked: {
      onPreFetch: {
        type: 'internal',
        code: 'function onPreFetch(request, response, modules) { response.continue(); }',
      },
    },
  },
  customEndpoints: {
    heavy: {
      type: 'internal',
      code: "function onRequest(request, response, modules) { modules.collectionAccess.collection('items').find({}, function (err, docs) { if (err) return response.error(err.message); response.body = { n: docs.length }; response.complete(200); }); }",
    },
  },
};

async function api(
  method: string,
  url: string,
  auth: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json', 'X-Kinvey-API-Version': '5' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function probe(base: string, at: { url: string; auth: string } | null): Promise<LoadResult> {
  const spec: LoadSpec = {
    mode: 'probe',
    url: at?.url ?? `${base}/appdata/${APP_KEY}`,
    auth: at?.auth ?? MASTER,
    maxRequests: Math.ceil((SECONDS * 1000) / 5) + 10,
    maxMs: SECONDS * 1000,
    intervalMs: 5,
  };
  const child = track(
    spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`probe exited with ${code}`)),
    ),
  );
}

/** ATTACKERS loops sending `attack` until the probe ends (bounded by time and a request count). */
async function underAttack(
  base: string,
  attack: (() => Promise<number>) | null,
  probeAt: { url: string; auth: string } | null = null,
  attackers = ATTACKERS,
): Promise<{ honest: LoadResult; attacks: number; statuses: Record<number, number> }> {
  const statuses: Record<number, number> = {};
  let attacks = 0;
  let running = true;
  const deadline = Date.now() + SECONDS * 1000;
  const loops = attack
    ? Array.from({ length: attackers }, async () => {
        while (running && Date.now() < deadline && attacks < 100_000) {
          const status = await attack().catch(() => 0);
          statuses[status] = (statuses[status] ?? 0) + 1;
          attacks++;
        }
      })
    : [];
  const honest = await probe(base, probeAt);
  running = false;
  await Promise.all(loops);
  return { honest, attacks, statuses };
}

/**
 * The `images` phase's attack: one call re-uploads one of 20 large photos (3-8.75 MP JPEGs of
 * noise, the costliest to decode; a new generation each time, so nothing is cached), reads it
 * with both default variants and fetches their links. The photos are made before any phase runs.
 */
async function imageAttack(base: string, auth: string): Promise<() => Promise<number>> {
  const { default: sharp } = await import('sharp');
  const photos = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const [width, height] = [2000 + (i % 4) * 500, 1500 + (i % 3) * 500];
      const noise = { type: 'gaussian', mean: 128, sigma: 40 } as const;
      return sharp({ create: { width, height, channels: 3, background: '#808080', noise } })
        .jpeg({ quality: 90 })
        .toBuffer();
    }),
  );
  let next = 0;
  const json = { Authorization: auth, 'Content-Type': 'application/json' };
  return async () => {
    const i = next++ % photos.length;
    const bytes = photos[i] as Buffer;
    const ticket = (await (
      await fetch(`${base}/blob/${APP_KEY}/photo-${i}`, {
        method: 'PUT',
        headers: { ...json, 'X-Kinvey-Content-Type': 'image/jpeg' },
        body: JSON.stringify({ mimeType: 'image/jpeg', size: bytes.length }),
      })
    ).json()) as { _uploadURL: string; _requiredHeaders: Record<string, string> };
    await fetch(ticket._uploadURL, {
      method: 'PUT',
      headers: { ...ticket._requiredHeaders, 'Content-Type': 'image/jpeg' },
      body: bytes,
    }).then((r) => r.arrayBuffer());
    const read = await fetch(`${base}/blob/${APP_KEY}/photo-${i}?kinveyfile_variants=thumb,medium`, { headers: json });
    const file = (await read.json()) as { _variants?: Record<string, { _downloadURL: string }> };
    for (const variant of Object.values(file._variants ?? {}))
      await fetch(variant._downloadURL).then((r) => r.arrayBuffer());
    return read.status;
  };
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : NaN;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-abuse-'));
  try {
    const appsFile = path.join(work, 'apps.json');
    await writeFile(path.join(work, 'env.json'), JSON.stringify(ENVIRONMENT));
    await writeFile(
      appsFile,
      JSON.stringify([
        {
          appKey: APP_KEY,
          appSecret: APP_SECRET,
          masterSecret: MASTER_SECRET,
          name: 'Abuse bench',
          environmentFile: 'env.json',
        },
      ]),
    );
    const { base } = await startKinbase('kinbase', {
      KINBASE_DATA_DIR: path.join(work, 'data'),
      KINBASE_APPS_FILE: appsFile,
    });

    // The attacker: an ordinary user, signed up with the app secret every client ships.
    await api('POST', `${base}/user/${APP_KEY}`, APP, { username: 'mallory', password: 'mallory-password' });
    const login = await api('POST', `${base}/user/${APP_KEY}/login`, APP, {
      username: 'mallory',
      password: 'mallory-password',
    });
    const user = `Kinvey ${(login.json as { _kmd: { authtoken: string } })._kmd.authtoken}`;
    // The honest user of the Business Logic phase.
    await api('POST', `${base}/user/${APP_KEY}`, APP, { username: 'alice', password: 'alice-password' });
    const aliceLogin = await api('POST', `${base}/user/${APP_KEY}/login`, APP, {
      username: 'alice',
      password: 'alice-password',
    });
    const alice = `Kinvey ${(aliceLogin.json as { _kmd: { authtoken: string } })._kmd.authtoken}`;

    process.stdout.write(`seeding ${ENTITIES} entities and ${REFERENCES} pending files...\n`);
    for (let i = 0; i < ENTITIES; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => ({ _id: `e${i + j}`, s: 'a'.repeat(1000) }));
      const res = await api('POST', `${base}/appdata/${APP_KEY}/notes`, user, batch);
      if (res.status !== 201) throw new Error(`seeding entities: ${res.status} ${JSON.stringify(res.json)}`);
      // The Business Logic endpoint's data: as many 1 KB entities, apart from the notes other phases grow.
      const items = await api('POST', `${base}/appdata/${APP_KEY}/items`, MASTER, batch);
      if (items.status !== 201) throw new Error(`seeding items: ${items.status} ${JSON.stringify(items.json)}`);
      // The attacker's own entities in a shared collection, without `_acl.gr`: the residual phases' data.
      const own = await api(
        'POST',
        `${base}/appdata/${APP_KEY}/pub`,
        user,
        batch.map(({ _id }) => ({ _id })),
      );
      if (own.status !== 201) throw new Error(`seeding pub: ${own.status} ${JSON.stringify(own.json)}`);
    }
    for (let i = 0; i < REFERENCES; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const res = await api('POST', `${base}/blob/${APP_KEY}`, user, {
            _id: `f${i + j}`,
            _filename: `f${i + j}.bin`,
            mimeType: 'application/octet-stream',
          });
          if (res.status !== 201) throw new Error(`seeding files: ${res.status} ${JSON.stringify(res.json)}`);
        }),
      );
    }
    const refs = Array.from({ length: REFERENCES }, (_, i) => ({ _type: 'KinveyFile', _id: `f${i}` }));
    const holder = await api('POST', `${base}/appdata/${APP_KEY}/notes`, user, { _id: 'many-refs', refs });
    if (holder.status !== 201) throw new Error(`seeding references: ${holder.status} ${JSON.stringify(holder.json)}`);

    const regexUrl = `${base}/appdata/${APP_KEY}/notes?query=${encodeURIComponent(JSON.stringify({ s: { $regex: WORST_REGEX } }))}`;
    const body = `{${Array.from({ length: BODY_KEYS }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    const headers = { Authorization: user, 'Content-Type': 'application/json' };
    const send = (method: string, url: string, payload?: string, auth: Record<string, string> = headers) =>
      fetch(url, { method, headers: auth, ...(payload === undefined ? {} : { body: payload }) }).then(
        async (r) => (await r.arrayBuffer(), r.status),
      );
    // In a shared collection the reader's ACL clause is readable-by-all: the planner checks the
    // clauses below against the ACL index per candidate (the residual checks).
    const wide = (from: number, last: unknown) => ({
      '_acl.gr': { $in: [...Array.from({ length: 999 }, (_, i) => from + i), last] },
    });
    const aclClause = wide(0, true);
    const residualUrl = `${base}/appdata/${APP_KEY}/pub?query=${encodeURIComponent(JSON.stringify({ $and: [{ '_kmd.lmt': { $gt: '' } }, aclClause, aclClause] }))}`;
    const groupCondition = JSON.stringify({
      key: {},
      initial: { count: 0 },
      reduce: 'function(doc, out) { out.count++; }',
      condition: { $and: [{ '_kmd.lmt': { $gt: '' } }, wide(0, null), wide(1000, null), wide(2000, null), aclClause] },
    });
    const wideRegex = { $or: Array.from({ length: 8000 }, () => ({ a: { $regex: '\\pL{1000}' } })) };
    const regexGroup = JSON.stringify({
      key: { a: true },
      initial: { count: 0 },
      reduce: 'function(doc, out) { out.count++; }',
      condition: wideRegex,
    });
    const hugeInitial = JSON.stringify({
      key: { _id: true },
      initial: { count: 0, pad: 'x'.repeat(4_900_000) },
      reduce: 'function(doc, out) { out.count++; }',
    });
    const basicGuess = {
      Authorization: `Basic ${Buffer.from('mallory:not-the-password').toString('base64')}`,
      'X-Kinvey-API-Version': '5',
    };
    const phases: [string, (() => Promise<number>) | null, { url: string; auth: string }?, number?][] = [
      ['idle', null],
      ['regex', async () => await fetch(regexUrl, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))],
      [
        'body',
        async () =>
          await fetch(`${base}/appdata/${APP_KEY}/notes`, { method: 'POST', headers, body }).then(
            async (r) => (await r.arrayBuffer(), r.status),
          ),
      ],
      [
        'references',
        async () =>
          await fetch(`${base}/appdata/${APP_KEY}/notes/many-refs`, { headers }).then(
            async (r) => (await r.arrayBuffer(), r.status),
          ),
      ],
      ['residual', () => send('GET', residualUrl)],
      ['group-cond', () => send('POST', `${base}/appdata/${APP_KEY}/pub/_group`, groupCondition)],
      ['regex-wide', () => send('POST', `${base}/appdata/${APP_KEY}/no-such-collection/_group`, regexGroup)],
      ['lookup-wide', () => send('POST', `${base}/user/${APP_KEY}/_lookup`, JSON.stringify(wideRegex))],
      ['group-initial', () => send('POST', `${base}/appdata/${APP_KEY}/notes/_group`, hugeInitial)],
      ['basic-guess', () => send('GET', `${base}/appdata/${APP_KEY}/notes/e1`, undefined, basicGuess)],
      ['images', await imageAttack(base, user)],
      [
        'bl-flood',
        () => send('POST', `${base}/rpc/${APP_KEY}/custom/heavy`, '{}'),
        { url: `${base}/appdata/${APP_KEY}/hooked/_count`, auth: alice },
        BL_ATTACKERS,
      ],
    ];
    const rows: string[] = [];
    let idleP99 = NaN;
    const only = process.env.BENCH_ONLY?.split(',');
    for (const [name, attack, probeAt, attackers] of phases.filter(([phase]) => !only || only.includes(phase))) {
      const { honest, attacks, statuses } = await underAttack(base, attack, probeAt ?? null, attackers);
      const lat = honest.latenciesMs ?? [];
      const p99 = pct(lat, 0.99);
      if (name === 'idle') idleP99 = p99;
      rows.push(
        `| ${name} | ${attacks} (${
          Object.entries(statuses)
            .map(([s, n]) => `${s}: ${n}`)
            .join(', ') || '-'
        }) | ${pct(lat, 0.5).toFixed(1)} | ${p99.toFixed(1)} | ${(lat[lat.length - 1] ?? NaN).toFixed(1)} | ${(p99 / idleP99).toFixed(1)}x |`,
      );
      process.stdout.write(`${rows[rows.length - 1]}\n`);
    }
    process.stdout.write(
      `\nhonest GET /appdata/:appKey every 5 ms (bl-flood: a second user's hooked _count), ${SECONDS} s per phase, ${ATTACKERS} attacker connections (bl-flood: ${BL_ATTACKERS})\n`,
    );
    process.stdout.write(
      '| phase | attack requests (status: count) | honest p50 ms | honest p99 ms | honest max ms | p99 / idle |\n|---|---|---:|---:|---:|---:|\n',
    );
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await stopAll();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
