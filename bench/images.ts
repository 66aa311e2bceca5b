/**
 * Image variants bench: kinbase against PocketBase v0.36.8 on the same job, side by side in one
 * run. 100 records x 2 photos (1-3 MP JPEGs); one "page" is a read of the list plus a fetch of
 * every thumbnail (6 at a time, as a browser does): kinbase reads `/appdata` with
 * `kinveyfile_variants=thumb` and fetches each `_variants.thumb._downloadURL` (private files,
 * signed URLs, redirects followed); PocketBase lists the records and fetches `?thumb=128x128` of
 * each file (public files). Cold: the first page (no thumbnail made yet); warm: the same page
 * again (median of BENCH_WARM_ROUNDS). Per page: client time and the server process's CPU time
 * (utime + stime from /proc). Also the response bytes per record with `_placeholder` and
 * `_variants` against the same list without them.
 *
 * Usage: npm run bench:images   (BENCH_WARM_ROUNDS=5; POCKETBASE=/path/to/pocketbase, default
 *        $(go env GOPATH)/bin/pocketbase, built on first use)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { freePort } from './free-port';
import { startKinbase, stopAll, track } from './kinbase-process';

const RECORDS = 100;
const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 5);
const PARALLEL_FETCHES = 6;
const APP_KEY = 'kid_images';
const APP_SECRET = 'images-app-secret';
const MASTER_SECRET = 'images-master-secret';
const TICKS_PER_SECOND = 100;
const POCKETBASE_MODULE = 'github.com/pocketbase/pocketbase/examples/base@v0.36.8';

interface Side {
  name: string;
  pid: number;
  /** One page: the list read, then every thumbnail; returns the bytes of the list answer. */
  page: () => Promise<void>;
}

/** Ten distinct photos of 1.2 to 3 megapixels (noise over gradients: camera-like JPEG sizes). */
async function makePhotos(): Promise<Buffer[]> {
  const sizes = [
    [1280, 960],
    [1600, 1200],
    [2000, 1500],
    [1440, 1080],
    [1920, 1080],
    [1200, 1600],
    [1800, 1350],
    [1366, 1024],
    [2048, 1464],
    [1536, 1152],
  ] as const;
  return Promise.all(
    sizes.map(async ([width, height], i) => {
      const noise = Buffer.alloc(width * height * 3);
      for (let p = 0; p < noise.length; p += 3) {
        const x = (p / 3) % width;
        const y = Math.floor(p / 3 / width);
        const grain = (Math.imul(p + i * 7919, 2654435761) >>> 24) / 8;
        noise[p] = (x * 200) / width + grain;
        noise[p + 1] = (y * 200) / height + grain;
        noise[p + 2] = 90 + i * 10 + grain;
      }
      return sharp(noise, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 88 })
        .toBuffer();
    }),
  );
}

/** Runs `work` on every item, `limit` at a time. */
async function parallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function fetchOk(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url.slice(0, 120)}: ${res.status} ${await res.text()}`);
  return res;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function measure(side: Side): Promise<{ ms: number; cpuMs: number }> {
  const cpu = cpuSeconds(side.pid);
  const start = performance.now();
  await side.page();
  return { ms: performance.now() - start, cpuMs: (cpuSeconds(side.pid) - cpu) * 1000 };
}

async function kinbaseSide(photos: Buffer[], dir: string): Promise<Side & { bytes: () => Promise<[number, number]> }> {
  // Links name 127.0.0.1 like PocketBase's (`localhost` would try ::1 first on every new connection).
  const port = await freePort();
  const server = await startKinbase('kinbase', {
    PORT: String(port),
    KINBASE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    KINBASE_DATA_DIR: dir,
    KINBASE_APP_KEY: APP_KEY,
    KINBASE_APP_SECRET: APP_SECRET,
    KINBASE_MASTER_SECRET: MASTER_SECRET,
  });
  const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  const json = { 'Content-Type': 'application/json' };
  await fetchOk(`${server.base}/user/${APP_KEY}`, {
    method: 'POST',
    headers: { ...json, Authorization: basic(APP_KEY, APP_SECRET) },
    body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
  });
  const login = (await (
    await fetchOk(`${server.base}/user/${APP_KEY}/login`, {
      method: 'POST',
      headers: { ...json, Authorization: basic(APP_KEY, APP_SECRET) },
      body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
    })
  ).json()) as { _kmd: { authtoken: string } };
  const auth = `Kinvey ${login._kmd.authtoken}`;
  const upload = async (bytes: Buffer): Promise<string> => {
    const ticket = (await (
      await fetchOk(`${server.base}/blob/${APP_KEY}`, {
        method: 'POST',
        headers: { ...json, Authorization: auth, 'X-Kinvey-Content-Type': 'image/jpeg' },
        body: JSON.stringify({ mimeType: 'image/jpeg', size: bytes.length }),
      })
    ).json()) as { _id: string; _uploadURL: string; _requiredHeaders: Record<string, string> };
    await fetchOk(ticket._uploadURL, {
      method: 'PUT',
      headers: { ...ticket._requiredHeaders, 'Content-Type': 'image/jpeg' },
      body: bytes,
    });
    return ticket._id;
  };
  for (let i = 0; i < RECORDS; i++) {
    const [a, b] = [await upload(photos[i % 10] as Buffer), await upload(photos[(i + 3) % 10] as Buffer)];
    await fetchOk(`${server.base}/appdata/${APP_KEY}/photos`, {
      method: 'POST',
      headers: { ...json, Authorization: auth },
      body: JSON.stringify({
        title: `photo ${i}`,
        a: { _type: 'KinveyFile', _id: a },
        b: { _type: 'KinveyFile', _id: b },
      }),
    });
  }
  const list = async (query: string) =>
    fetchOk(`${server.base}/appdata/${APP_KEY}/photos?limit=${RECORDS}${query}`, { headers: { Authorization: auth } });
  // Every placeholder recorded before the clock starts (the uploads' own reads computed them).
  for (let i = 0; i < 100; i++) {
    const rows = (await (await list('')).json()) as Array<Record<string, { _placeholder?: unknown }>>;
    if (rows.every((row) => row.a?._placeholder && row.b?._placeholder)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name: 'kinbase',
    pid: server.child.pid as number,
    page: async () => {
      const t0 = performance.now();
      const rows = (await (await list('&kinveyfile_variants=thumb')).json()) as Array<
        Record<string, { _variants: { thumb: { _downloadURL: string } } }>
      >;
      const urls = rows.flatMap((row) => [row.a?._variants.thumb._downloadURL, row.b?._variants.thumb._downloadURL]);
      listMs.push(performance.now() - t0);
      await parallel(
        urls as string[],
        PARALLEL_FETCHES,
        async (url) => void (await (await fetchOk(url)).arrayBuffer()),
      );
    },
    bytes: async () => {
      const withBoth = await (await list('&kinveyfile_variants=thumb')).text();
      const rows = JSON.parse(withBoth) as Array<Record<string, Record<string, unknown>>>;
      for (const row of rows)
        for (const ref of [row.a, row.b]) {
          delete ref?._placeholder;
          delete ref?._variants;
        }
      return [Buffer.byteLength(withBoth), Buffer.byteLength(JSON.stringify(rows))];
    },
  };
}

/**
 * `$(go env GOPATH)/bin/pocketbase`, built on first use (a pinned `go install` of PocketBase's
 * examples/base, renamed): not in scripts/install-test-servers.sh, since only this bench needs it.
 */
function pocketbaseBinary(): string {
  const bin = path.join(execFileSync('go', ['env', 'GOPATH']).toString().trim(), 'bin');
  const binary = path.join(bin, 'pocketbase');
  if (existsSync(binary)) return binary;
  console.log(`building ${POCKETBASE_MODULE} into ${binary} ...`);
  execFileSync('go', ['install', POCKETBASE_MODULE], { stdio: 'inherit', env: { ...process.env, GOBIN: bin } });
  renameSync(path.join(bin, 'base'), binary);
  return binary;
}

async function pocketbaseSide(photos: Buffer[], dir: string): Promise<Side> {
  const binary = process.env.POCKETBASE ?? pocketbaseBinary();
  const email = 'bench@example.com';
  const password = 'bench-password-1';
  execFileSync(binary, ['superuser', 'upsert', email, password, '--dir', dir], { stdio: 'ignore' });
  const port = await freePort();
  const child = track(spawn(binary, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], { stdio: 'ignore' }));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 100) throw new Error('pocketbase did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { token } = (await (
    await fetchOk(`${base}/api/collections/_superusers/auth-with-password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ identity: email, password }),
    })
  ).json()) as { token: string };
  const file = (name: string) => ({ name, type: 'file', maxSelect: 1, maxSize: 20_000_000, thumbs: ['128x128'] });
  const collection = (await (
    await fetchOk(`${base}/api/collections`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: token },
      body: JSON.stringify({
        name: 'photos',
        type: 'base',
        listRule: '',
        viewRule: '',
        fields: [{ name: 'title', type: 'text' }, file('a'), file('b')],
      }),
    })
  ).json()) as { id: string };
  for (let i = 0; i < RECORDS; i++) {
    const form = new FormData();
    form.set('title', `photo ${i}`);
    form.set('a', new Blob([photos[i % 10] as Buffer], { type: 'image/jpeg' }), `a${i}.jpg`);
    form.set('b', new Blob([photos[(i + 3) % 10] as Buffer], { type: 'image/jpeg' }), `b${i}.jpg`);
    await fetchOk(`${base}/api/collections/photos/records`, {
      method: 'POST',
      headers: { Authorization: token },
      body: form,
    });
  }
  return {
    name: 'pocketbase',
    pid: child.pid as number,
    page: async () => {
      const list = (await (await fetchOk(`${base}/api/collections/photos/records?perPage=${RECORDS}`)).json()) as {
        items: Array<{ id: string; a: string; b: string }>;
      };
      const urls = list.items.flatMap((r) =>
        [r.a, r.b].map((name) => `${base}/api/files/${collection.id}/${r.id}/${name}?thumb=128x128`),
      );
      await parallel(urls, PARALLEL_FETCHES, async (url) => void (await (await fetchOk(url)).arrayBuffer()));
    },
  };
}

/** Client time of kinbase's list reads alone (with `kinveyfile_variants=thumb`), page by page. */
const listMs: number[] = [];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-images-'));
  try {
    const photos = await makePhotos();
    const kinbase = await kinbaseSide(photos, path.join(root, 'kinbase'));
    const pocketbase = await pocketbaseSide(photos, path.join(root, 'pocketbase'));
    const rows: string[] = [];
    const results: Record<string, { cold: { ms: number; cpuMs: number }; warm: { ms: number; cpuMs: number } }> = {};
    for (const side of [kinbase, pocketbase]) {
      const cold = await measure(side);
      const warm: Array<{ ms: number; cpuMs: number }> = [];
      for (let i = 0; i < WARM_ROUNDS; i++) warm.push(await measure(side));
      results[side.name] = {
        cold,
        warm: { ms: median(warm.map((w) => w.ms)), cpuMs: median(warm.map((w) => w.cpuMs)) },
      };
    }
    const k = results.kinbase!;
    const p = results.pocketbase!;
    rows.push('| page (list + 200 thumbnails) | kinbase | PocketBase v0.36.8 | PocketBase / kinbase |');
    rows.push('|---|---|---|---|');
    for (const phase of ['cold', 'warm'] as const) {
      rows.push(
        `| ${phase}: client time | ${k[phase].ms.toFixed(0)} ms | ${p[phase].ms.toFixed(0)} ms | ${(p[phase].ms / k[phase].ms).toFixed(2)}x |`,
      );
      rows.push(
        `| ${phase}: server CPU | ${k[phase].cpuMs.toFixed(0)} ms | ${p[phase].cpuMs.toFixed(0)} ms | ${(p[phase].cpuMs / Math.max(k[phase].cpuMs, 10)).toFixed(2)}x |`,
      );
    }
    rows.push(
      `| warm: the list read alone (100 records, 200 references with variants) | ${median(listMs.slice(1)).toFixed(0)} ms | | |`,
    );
    const [withBoth, without] = await kinbase.bytes();
    const perReference = (withBoth - without) / (RECORDS * 2);
    console.log(rows.join('\n'));
    console.log(
      `\nresponse bytes per record: ${(without / RECORDS).toFixed(0)} B without, ${(withBoth / RECORDS).toFixed(0)} B with _placeholder and _variants (+${(perReference / 1000).toFixed(3)} kB per reference, goal <= 0.3 kB)`,
    );
  } finally {
    await stopAll();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
