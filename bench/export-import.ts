/**
 * `kinbase export` and `kinbase import` (issue 29) against a plain copy of the same data dir as
 * the floor (SQLite's online backup API for the database, `cp -r` for the file objects), side by
 * side in one run, on the embedded store and local disk.
 *
 * Seeds a data dir with N entities (~1 KB each, in one collection) and F files of 1-5 MB, then
 * times, each in a child process: the floor copy; `kinbase export`; `kinbase import` into an empty
 * data dir. Reports entities/s, MB/s (of the data dir's bytes) and the command's peak RSS.
 *
 * Usage: npm run bench:export [-- --entities 100000 --files 1000]
 * (defaults: 100,000 entities and KINBASE_BENCH_FILES files, 100 unless set; 1,000 files is ~3 GB)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { EmbeddedDocumentStore } from '../src/stores/documents/embedded/embedded.document-store';
import { LocalDiskObjectStore } from '../src/stores/objects/local-disk/local-disk.object-store';
import { objectKeyFor, newGeneration } from '../src/domain/files/file-keys';
import type { StoredDocument } from '../src/domain/ports';

const CLI = path.join(__dirname, 'cli-rss.js');
const APP = {
  appKey: 'kid_bench',
  appSecret: 'bench-app-secret-0123456789',
  masterSecret: 'bench-master-secret-0123456',
};

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function seed(dir: string, entities: number, files: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'apps.json'), JSON.stringify([{ ...APP, name: 'bench', collections: {} }]));
  const store = new EmbeddedDocumentStore({ dir: path.join(dir, 'documents') });
  const scope = { appKey: APP.appKey, collection: 'books' };
  const filler = 'x'.repeat(900);
  for (let start = 0; start < entities; start += 1000) {
    const batch: StoredDocument[] = [];
    for (let i = start; i < Math.min(entities, start + 1000); i++)
      batch.push({
        _id: `e${String(i).padStart(7, '0')}`,
        n: i,
        title: `book ${i}`,
        filler,
        _acl: { creator: 'u1' },
        _kmd: { lmt: '2026-01-01T00:00:00.000Z', ect: '2026-01-01T00:00:00.000Z' },
      });
    await store.putMany(scope, batch);
  }
  const objects = new LocalDiskObjectStore({
    dir: path.join(dir, 'objects'),
    publicUrl: 'http://x',
    signingSecret: 's'.repeat(40),
  });
  const blob = { appKey: APP.appKey, collection: '_blob' };
  for (let i = 0; i < files; i++) {
    const size = (1 + (i % 5)) * 1024 * 1024 - 7 * i;
    const id = `file-${i}`;
    const generation = newGeneration();
    const chunk = randomBytes(1024 * 1024);
    const body = Readable.from(
      (function* () {
        for (let left = size; left > 0; left -= chunk.length)
          yield left >= chunk.length ? chunk : chunk.subarray(0, left);
      })(),
    );
    await objects.write(objectKeyFor(APP.appKey, id, generation), body, { contentType: 'application/octet-stream' });
    await store.insert(blob, {
      _id: id,
      _filename: `${id}.bin`,
      size,
      _public: i % 2 === 0,
      _kinbaseGeneration: generation,
      _acl: { creator: 'u1' },
    });
  }
  await objects.close();
  await store.close();
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

interface Timed {
  seconds: number;
  maxRssMb: number | null;
}

function runChild(command: string, args: string[], env: Record<string, string> = {}): Promise<Timed> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err}`));
      const rss = /MAXRSS (\d+)/.exec(err);
      resolve({ seconds, maxRssMb: rss ? Number(rss[1]) / 1024 : null });
    });
  });
}

async function floorCopy(from: string, to: string): Promise<Timed> {
  const started = process.hrtime.bigint();
  const db = new Database(path.join(from, 'documents', 'kinbase.sqlite'), { readonly: true });
  await db.backup(path.join(to, 'kinbase.sqlite'));
  db.close();
  await runChild('cp', ['-r', path.join(from, 'objects'), path.join(to, 'objects')]);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, maxRssMb: null };
}

async function main(): Promise<void> {
  const entities = option('entities', 100_000);
  const files = option('files', Number(process.env.KINBASE_BENCH_FILES ?? 100));
  const root = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-export-'));
  try {
    const source = path.join(root, 'source');
    process.stderr.write(`seeding ${entities} entities and ${files} files of 1-5 MB ...\n`);
    await seed(source, entities, files);
    const dataBytes = await bytesUnder(source);
    const floorDir = path.join(root, 'floor');
    await mkdir(floorDir);
    const floor = await floorCopy(source, floorDir);
    const exported = await runChild(process.execPath, [CLI, 'export', path.join(root, 'export'), '--json'], {
      KINBASE_DATA_DIR: source,
    });
    const imported = await runChild(process.execPath, [CLI, 'import', path.join(root, 'export'), '--json'], {
      KINBASE_DATA_DIR: path.join(root, 'target'),
    });
    const mb = dataBytes / 1024 / 1024;
    const row = (label: string, t: Timed) =>
      `| ${label} | ${t.seconds.toFixed(1)} s | ${Math.round(entities / t.seconds).toLocaleString('en-US')} | ${(mb / t.seconds).toFixed(0)} MB/s | ${(t.seconds / floor.seconds).toFixed(1)}x | ${t.maxRssMb === null ? '-' : `${t.maxRssMb.toFixed(0)} MB`} |`;
    const lines = [
      `${entities.toLocaleString('en-US')} entities (~1 KB) and ${files} files of 1-5 MB: ${mb.toFixed(0)} MB in the data dir; node ${process.version}`,
      '',
      '| | time | entities/s | MB/s | vs floor | peak RSS |',
      '|---|---|---|---|---|---|',
      row('floor: SQLite backup API + cp -r objects', floor),
      row('kinbase export', exported),
      row('kinbase import (embedded, local disk)', imported),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
