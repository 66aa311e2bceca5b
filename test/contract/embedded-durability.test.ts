/**
 * The embedded store keeps what it acknowledged: across close/reopen, and when its process is
 * killed with SIGKILL in the middle of a stream of writes.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { transpileFile } from '../support/transpile';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';

const ROOT = path.resolve(__dirname, '../..');
let work: string;
/** Writes acknowledged before the kill. */
const ACKNOWLEDGED = 500;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kinbase-durability-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

test('documents, updates, deletes and indexes survive closing and reopening the store', async () => {
  const dir = path.join(work, 'data');
  const scope = { appKey: 'app', collection: 'people' };
  const first = new EmbeddedDocumentStore({ dir });
  await first.ensureIndex(scope, { field: 'email', unique: true });
  await first.insert(scope, { _id: 'a', email: 'a@x', when: new Date('2024-01-01T00:00:00Z'), tags: ['t'] });
  await first.insert(scope, { _id: 'b', email: 'b@x' });
  await first.insert(scope, { _id: 'c', email: 'c@x' });
  await first.setFields(scope, 'b', { 'profile.name': 'Bee' });
  await first.deleteById(scope, 'c');
  await first.close();

  const second = new EmbeddedDocumentStore({ dir });
  expect(await second.find(scope, {})).toEqual([
    { _id: 'a', email: 'a@x', when: new Date('2024-01-01T00:00:00Z'), tags: ['t'] },
    { _id: 'b', email: 'b@x', profile: { name: 'Bee' } },
  ]);
  await expect(second.insert(scope, { _id: 'd', email: 'a@x' })).rejects.toMatchObject({ kind: 'duplicate' });
  await second.close();
});

test('names that are not safe path segments stay inside the data dir and stay distinct', async () => {
  const dir = path.join(work, 'data');
  const store = new EmbeddedDocumentStore({ dir });
  const names = ['..', '.', '../escape', 'a/b', 'a~2Fb', 'ünï code', '.hidden'];
  for (const [i, name] of names.entries()) {
    await store.insert({ appKey: name, collection: name }, { _id: `doc${i}` });
  }
  for (const [i, name] of names.entries()) {
    expect(await store.find({ appKey: name, collection: name }, {})).toEqual([{ _id: `doc${i}` }]);
  }
  await store.close();
  // One database file (and its write-ahead log) holds them all; nothing is written elsewhere.
  expect(await readdir(work)).toEqual(['data']);
  for (const entry of await readdir(dir)) expect(entry).toMatch(/^kinbase\.sqlite(-wal|-shm)?$/);
});

test('a write refused in a new collection leaves nothing behind, and the next one is kept', async () => {
  const dir = path.join(work, 'data');
  const scope = { appKey: 'app', collection: 'fresh' };
  const first = new EmbeddedDocumentStore({ dir });
  await expect(first.insert(scope, { _id: 'bad', $where: 1 })).rejects.toMatchObject({ kind: 'invalid' });
  await first.insert(scope, { _id: 'good' });
  expect(await first.count(scope, {})).toBe(1);
  await first.close();
  const second = new EmbeddedDocumentStore({ dir });
  expect(await second.find(scope, {})).toEqual([{ _id: 'good' }]);
  expect(await second.count(scope, {})).toBe(1);
  await second.close();
});

test('a database written by a newer kinbase is refused at start, not misread', async () => {
  const dir = path.join(work, 'data');
  await new EmbeddedDocumentStore({ dir }).close();
  const raw = new Database(path.join(dir, 'kinbase.sqlite'));
  raw.pragma('user_version = 99');
  raw.close();
  expect(() => new EmbeddedDocumentStore({ dir })).toThrow(/written by a newer kinbase/);
});

test('a second store on the same data dir is refused at once, not mid-request', async () => {
  const dir = path.join(work, 'data');
  const first = new EmbeddedDocumentStore({ dir });
  await first.insert({ appKey: 'app', collection: 'c' }, { _id: 'a' });
  expect(() => new EmbeddedDocumentStore({ dir })).toThrow(/in use by another process/);
  await first.close();
  const again = new EmbeddedDocumentStore({ dir });
  expect(await again.find({ appKey: 'app', collection: 'c' }, {})).toEqual([{ _id: 'a' }]);
  await again.close();
});

test('every write acknowledged before a kill -9 is there after reopening', async () => {
  const modulePath = await compileEmbeddedStore(path.join(work, 'compiled'));
  const dir = path.join(work, 'data');
  const child = spawn(process.execPath, [path.join(ROOT, 'test/support/embedded-writer.child.js'), modulePath, dir], {
    // The compiled copy lives outside the repo; it finds better-sqlite3 through NODE_PATH.
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Kill well into the stream, while writes (and the WAL checkpoints they cause) are in flight.
      if (stdout.length > ACKNOWLEDGED * 9) resolve();
    });
    child.on('exit', () => reject(new Error(`writer exited on its own:\n${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  // Only complete lines are acknowledgements; a torn last line was never fully reported.
  const acknowledged = stdout.split('\n').slice(0, -1);
  expect(acknowledged.length).toBeGreaterThanOrEqual(ACKNOWLEDGED);
  const store = new EmbeddedDocumentStore({ dir });
  const found = await store.findByIds({ appKey: 'app', collection: 'stream' }, acknowledged);
  expect(found.map((d) => d._id).sort()).toEqual([...acknowledged].sort());
  await store.close();
}, 180_000);

/**
 * Compiles the embedded store and every project file it imports (followed through relative
 * imports, so a new import never breaks this test) to CommonJS, so a plain node child can load it.
 */
async function compileEmbeddedStore(outDir: string): Promise<string> {
  const entry = 'src/stores/documents/embedded/embedded.document-store.ts';
  const pending = [entry];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (done.has(file)) continue;
    done.add(file);
    const source = await readFile(path.join(ROOT, file), 'utf8');
    for (const match of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      pending.push(path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), `${match[1] as string}.ts`)));
    }
    const target = path.join(outDir, file.replace(/\.ts$/, '.js'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, transpileFile(path.join(ROOT, file)));
  }
  return path.join(outDir, entry.replace(/\.ts$/, '.js'));
}
