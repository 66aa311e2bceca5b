/**
 * The embedded store opened by several processes at once (a cluster's workers): each keeps its own
 * catalog in memory, and a change one makes (a collection, an index) must reach the others before
 * they plan or write. Two stores in `shared` mode on one file stand for two worker processes:
 * SQLite locks their connections against each other exactly as it does two processes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { lockDataDir } from '../../src/stores/documents/embedded/data-dir-lock';

let dir: string;
let stores: EmbeddedDocumentStore[];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kinbase-shared-'));
  await new EmbeddedDocumentStore({ dir, access: 'owner' }).close();
  stores = [new EmbeddedDocumentStore({ dir, access: 'shared' }), new EmbeddedDocumentStore({ dir, access: 'shared' })];
});
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

const scope = { appKey: 'kid_a', collection: 'books' };

test('an index one worker builds is kept by the writes of the other, and both plan with it', async () => {
  const [a, b] = stores as [EmbeddedDocumentStore, EmbeddedDocumentStore];
  await a.insert(scope, { _id: '1', shelf: 1 });
  await b.insert(scope, { _id: '2', shelf: 2 });
  await a.ensureIndex(scope, { field: 'shelf' });
  // b writes after a's index exists: without reloading its catalog it would add no index row.
  await b.insert(scope, { _id: '3', shelf: 1 });
  await b.setFields(scope, '2', { shelf: 1 });
  for (const store of [a, b]) {
    expect((await store.find(scope, { shelf: 1 }, { sort: [['_id', 1]] })).map((d) => d._id)).toEqual(['1', '2', '3']);
    expect(await store.count(scope, { shelf: 1 })).toBe(3);
  }
});

test('a unique index one worker made refuses a duplicate written through the other', async () => {
  const [a, b] = stores as [EmbeddedDocumentStore, EmbeddedDocumentStore];
  await a.ensureIndex(scope, { field: 'isbn', unique: true });
  await a.insert(scope, { _id: '1', isbn: 'x' });
  await expect(b.insert(scope, { _id: '2', isbn: 'x' })).rejects.toMatchObject({ kind: 'duplicate' });
});

test('both workers creating the same collection and index at once end with one of each', async () => {
  const [a, b] = stores as [EmbeddedDocumentStore, EmbeddedDocumentStore];
  await Promise.all([a.insert(scope, { _id: '1', n: 1 }), b.insert(scope, { _id: '2', n: 2 })]);
  await Promise.all([a.ensureIndex(scope, { field: 'n' }), b.ensureIndex(scope, { field: 'n' })]);
  expect(await a.listCollections('kid_a')).toEqual(['books']);
  for (const store of [a, b]) expect((await store.find(scope, { n: 2 })).map((d) => d._id)).toEqual(['2']);
});

test("two workers claiming the same scheduler tick's lease: exactly one insert succeeds", async () => {
  const [a, b] = stores as [EmbeddedDocumentStore, EmbeddedDocumentStore];
  const leases = { appKey: 'kid_a', collection: '_scheduledRuns' };
  const claims = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).insert(leases, { _id: 'nightly@1700000000000' })),
  );
  expect(claims.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
  for (const c of claims) if (c.status === 'rejected') expect(c.reason).toMatchObject({ kind: 'duplicate' });
});

test('a write that finds another process holding the write lock past the busy timeout is unavailable (503), not a raw SQLITE_BUSY', async () => {
  const impatient = new EmbeddedDocumentStore({ dir, access: 'shared', busyTimeoutMs: 20 });
  stores.push(impatient);
  const holder = new Database(path.join(dir, 'kinbase.sqlite'));
  holder.exec('BEGIN IMMEDIATE');
  try {
    await expect(impatient.insert(scope, { _id: 'x' })).rejects.toMatchObject({ kind: 'unavailable' });
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  await impatient.insert(scope, { _id: 'x' });
  expect(await (stores[0] as EmbeddedDocumentStore).count(scope, {})).toBe(1);
});

test('the data dir lock refuses a second holder and is free again once released', () => {
  const lock = lockDataDir(dir);
  expect(() => lockDataDir(dir)).toThrow(/in use by another process/);
  lock.release();
  lockDataDir(dir).release();
});
