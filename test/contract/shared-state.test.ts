/**
 * The SharedState contract (ports.ts) on both document stores: counters that several instances
 * (here: several store connections on one database or one SQLite file) increment atomically,
 * windows kept apart, expiry without a TTL index, and logs trimmed to their length. Each test
 * works in its own app key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DocumentStore, SharedState } from '../../src/domain/ports';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { MongoDocumentStore } from '../../src/stores/documents/mongodb/mongo.document-store';

interface Opened {
  /** Two views of one shared state: two connections to one server, or one SQLite file. */
  instances: [SharedState, SharedState];
  cleanup: () => Promise<void>;
}

async function embedded(): Promise<Opened> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-shared-'));
  const store = new EmbeddedDocumentStore({ dir });
  const shared = store.sharedState();
  return {
    instances: [shared, shared],
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function mongodb(): Promise<Opened> {
  const url = process.env.KINBASE_TEST_MONGODB_URL;
  if (!url) throw new Error('KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup should have started FerretDB');
  const dbPrefix = `shared_${randomBytes(3).toString('hex')}_`;
  const stores: DocumentStore[] = [
    await MongoDocumentStore.connect({ url, dbPrefix }),
    await MongoDocumentStore.connect({ url, dbPrefix }),
  ];
  return {
    instances: [stores[0]!.sharedState!(), stores[1]!.sharedState!()],
    cleanup: async () => void (await Promise.all(stores.map((s) => s.close()))),
  };
}

describe.each([
  ['embedded', embedded],
  ['mongodb', mongodb],
])('SharedState on the %s store', (_name, open) => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(async () => opened?.cleanup());
  const app = () => `t_${randomBytes(5).toString('hex')}`;
  const later = () => Date.now() + 60_000;

  test('events added concurrently by two instances are all counted, newest first, within the limit asked', async () => {
    const appKey = app();
    const [a, b] = opened.instances;
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).counters.add(appKey, 'victim', now + i, later())),
    );
    expect(await b.counters.newest(appKey, 'victim', 0, 100)).toEqual(
      Array.from({ length: 20 }, (_, i) => now + 19 - i),
    );
    expect(await a.counters.newest(appKey, 'victim', now + 14, 3)).toEqual([now + 19, now + 18, now + 17]);
    expect(await a.counters.newest(appKey, 'victim', now + 19, 3)).toEqual([]);
  });

  test('keys and apps are counted apart; removeOne takes back the newest; clear removes events and mark', async () => {
    const appKey = app();
    const [a, b] = opened.instances;
    await a.counters.add(appKey, 'k', 1000, later());
    await a.counters.add(appKey, 'k', 2000, later());
    await a.counters.add(appKey, 'other', 1000, later());
    await a.counters.mark(appKey, 'k', 42, later());
    expect(await b.counters.newest(appKey, 'k', 0, 10)).toEqual([2000, 1000]);
    expect(await b.counters.newest(app(), 'k', 0, 10)).toEqual([]);
    await b.counters.removeOne(appKey, 'k', 0);
    expect(await a.counters.newest(appKey, 'k', 0, 10)).toEqual([1000]);
    await b.counters.removeOne(appKey, 'k', 1000);
    expect(await a.counters.newest(appKey, 'k', 0, 10)).toEqual([1000]);
    await b.counters.clear(appKey, 'k');
    expect(await a.counters.newest(appKey, 'k', 0, 10)).toEqual([]);
    expect(await a.counters.markOf(appKey, 'k')).toBeUndefined();
    expect(await a.counters.newest(appKey, 'other', 0, 10)).toEqual([1000]);
  });

  test('a mark is the last value set until it expires, without any TTL index', async () => {
    const appKey = app();
    const [a, b] = opened.instances;
    expect(await a.counters.markOf(appKey, 'mark')).toBeUndefined();
    await a.counters.mark(appKey, 'mark', 12345, later());
    await b.counters.mark(appKey, 'mark', 67890, later());
    expect(await a.counters.markOf(appKey, 'mark')).toBe(67890);
    await b.counters.mark(appKey, 'mark', 1, Date.now() - 1);
    expect(await a.counters.markOf(appKey, 'mark')).toBeUndefined();
  });

  test('keys of any length and content are stored (as hashes): a 10 kB username with NUL bytes', async () => {
    const appKey = app();
    const key = `\u0000__proto__${'x'.repeat(10_000)}`;
    await opened.instances[0].counters.add(appKey, key, 5, later());
    expect(await opened.instances[1].counters.newest(appKey, key, 0, 5)).toEqual([5]);
  });

  test('a log keeps the newest entries up to its length, whichever instance appended them', async () => {
    const appKey = app();
    const [a, b] = opened.instances;
    for (let i = 0; i < 8; i++) await (i % 2 ? a : b).logs.append(appKey, 'errors', { n: i }, 5);
    expect(await a.logs.recent(appKey, 'errors', 10)).toEqual([4, 3, 2, 1, 0].map((n) => ({ n: n + 3 })));
    expect(await b.logs.recent(appKey, 'errors', 2)).toEqual([{ n: 7 }, { n: 6 }]);
    expect(await b.logs.recent(appKey, 'other', 2)).toEqual([]);
  });
});
