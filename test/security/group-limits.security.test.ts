/**
 * `_group` with hostile `initial` and key sizes. The answer repeats `initial` in every group and
 * carries every group's key values, so a small request over many small entities asked for a huge
 * answer: a 4.9 MB `initial` over 1,000 groups reached 4.2 GB of RSS and aborted the process (0.3 s
 * on a 256 MB heap), and answers of 40-48 MiB passed the 32 MiB cap lists have. `initial` and each
 * group's key are bounded, and groups are charged against the answer cap while they accumulate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { NODE_FLAGS } from '../../src/node-flags';
import type { DocumentStore, StoredDocument } from '../../src/domain/ports';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

const COUNT = 'function(doc, out) { out.count += 1; }';
const CAP = 1024 * 1024;
const AVERAGE =
  'function(doc, out) { out.average = (out.average * out.count + doc["n"]) / (out.count + 1); out.count += 1; }';

/** Stores entities straight through the app's document store (master reads them all). */
async function seed(store: DocumentStore, appKey: string, collection: string, docs: StoredDocument[]): Promise<void> {
  const scope = { appKey, collection };
  for (let i = 0; i < docs.length; i += 100) {
    await Promise.all(docs.slice(i, i + 100).map((doc) => store.insert(scope, doc)));
  }
}

describe.each(DOCUMENT_STORES)('_group sizes on the %s document store', (documents) => {
  let t: TestApp;
  let groupCalls = 0;
  beforeAll(async () => {
    // The answer cap lowered from 32 MiB to 1 MiB, so little data reaches it (the contract suite
    // checks each store's default 32 MiB).
    t = await startTestApp({
      documents,
      maxResultBytes: CAP,
      wrapDocuments: (store) =>
        countingGroups(store, () => {
          groupCalls += 1;
        }),
    });
    // 220 groups whose key values are 4,000 characters each, within the key limit: 0.88 MB of keys.
    await seed(
      t.documents,
      t.appKey,
      'keyed',
      Array.from({ length: 220 }, (_, i) => ({ _id: `t${i}`, k: String(i).padStart(4_000, 'x'), n: i })),
    );
    // A few entities whose key value is larger than a group key may be.
    await seed(
      t.documents,
      t.appKey,
      'wide',
      ['a', 'b', 'c'].map((c) => ({ _id: c, k: c.repeat(20_000), n: 1 })),
    );
  }, 120_000);
  afterAll(() => t?.close());

  const group = (collection: string, body: object) =>
    request(t.app).post(`/appdata/${t.appKey}/${collection}/_group`).set('Authorization', t.masterAuth).send(body);

  test('a 4.9 MB initial is refused with 400 BadRequest naming the limit, before any group is built', async () => {
    groupCalls = 0;
    const res = await group('keyed', {
      key: { _id: true },
      initial: { count: 0, pad: 'x'.repeat(4_900_000) },
      reduce: COUNT,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('BadRequest');
    expect(res.body.debug).toMatch(/initial holds more than 1024 characters/);
    expect(groupCalls).toBe(0);
  });

  test('an initial of 2,000 characters is refused with 400 BadRequest', async () => {
    const res = await group('keyed', {
      key: { _id: true },
      initial: { count: 0, pad: 'x'.repeat(2_000) },
      reduce: COUNT,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('BadRequest');
  });

  test.each([
    ['count', COUNT],
    ['average', AVERAGE],
  ])(
    '220 groups of 4 KB keys and a 900-character initial, each within its limit (%s), are refused with 400 ResultSetSizeExceeded once together over the answer cap',
    async (_name, reduce) => {
      // The keys alone are 0.88 MB, under the 1 MiB cap: only with `initial` charged in every group is it passed.
      const res = await group('keyed', {
        key: { k: true },
        initial: { count: 0, average: 0, pad: 'x'.repeat(900) },
        reduce,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('ResultSetSizeExceeded');
      expect(res.body.debug).toMatch(/more than 1 MB/);
    },
  );

  test('the same request over fewer groups is answered', async () => {
    const initial = { count: 0, pad: 'x'.repeat(900) };
    const res = await group('keyed', { key: { k: true }, initial, reduce: COUNT, condition: { n: { $lt: 100 } } });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(100);
    expect(res.body[0]).toMatchObject({ count: 1, pad: initial.pad });
  });

  test.each([
    ['count', COUNT],
    ['average', AVERAGE],
  ])(
    'grouping by a 20 KB field value (%s) is refused with 400 ResultSetSizeExceeded naming the key limit',
    async (_name, reduce) => {
      const res = await group('wide', { key: { k: true }, initial: { count: 0, average: 0 }, reduce });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('ResultSetSizeExceeded');
      expect(res.body.debug).toMatch(/key.*16 KiB/);
    },
  );

  test('a key of 17 fields and a 300-character key field are refused with 400 BadRequest', async () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, true]));
    expect((await group('keyed', { key: many, initial: { count: 0 }, reduce: COUNT })).status).toBe(400);
    expect(
      (await group('keyed', { key: { ['f'.repeat(300)]: true }, initial: { count: 0 }, reduce: COUNT })).status,
    ).toBe(400);
  });
});

describe.each(DOCUMENT_STORES)('a 4.9 MB initial on a 256 MB heap (%s document store)', (documents) => {
  const app = {
    KINBASE_APP_KEY: 'kid_groups',
    KINBASE_APP_SECRET: 'app-secret-groups',
    KINBASE_MASTER_SECRET: 'master-secret-groups',
  };
  const master = `Basic ${Buffer.from(`${app.KINBASE_APP_KEY}:${app.KINBASE_MASTER_SECRET}`).toString('base64')}`;
  const dbPrefix = `groups${randomBytes(3).toString('hex')}_`;
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-groups-'));
    server = await startServerProcess(
      { KINBASE_DATA_DIR: dataDir, ...app, ...(await storeEnv(documents, dbPrefix)) },
      { nodeArgs: [...NODE_FLAGS, '--max-old-space-size=256'] },
    );
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    if (documents === 'mongodb') await dropDatabases(dbPrefix);
  });

  const call = (method: string, url: string, body?: unknown): Promise<Response> =>
    fetch(`${(server as ServerProcess).baseUrl}/appdata/${app.KINBASE_APP_KEY}${url}`, {
      method,
      headers: { Authorization: master, 'Content-Type': 'application/json', 'X-Kinvey-API-Version': '5' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  test('the request is refused with 400 and the server keeps serving', async () => {
    for (let i = 0; i < 1_000; i += 100) {
      const created = await call(
        'POST',
        '/tiny',
        Array.from({ length: 100 }, (_, j) => ({ _id: `t${i + j}`, k: i + j })),
      );
      expect(created.status).toBe(201);
    }
    const res = await call('POST', '/tiny/_group', {
      key: { k: true },
      initial: { count: 0, pad: 'x'.repeat(4_900_000) },
      reduce: COUNT,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'BadRequest' });
    const count = await call('GET', '/tiny/_count');
    expect(await count.json()).toEqual({ count: 1_000 });
    expect(server?.child.exitCode).toBeNull();
  }, 60_000);
});

async function storeEnv(documents: DocumentsKind, dbPrefix: string): Promise<Record<string, string>> {
  if (documents === 'embedded') return {};
  const url = process.env.KINBASE_TEST_MONGODB_URL;
  if (!url) throw new Error('KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup did not start FerretDB');
  return { MONGODB_URL: url, MONGODB_DB_PREFIX: dbPrefix };
}

async function dropDatabases(prefix: string): Promise<void> {
  const admin = new MongoClient(process.env.KINBASE_TEST_MONGODB_URL as string);
  try {
    const { databases } = await admin.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) if (name.startsWith(prefix)) await admin.db(name).dropDatabase();
  } finally {
    await admin.close();
  }
}

function countingGroups(store: DocumentStore, onGroup: () => void): DocumentStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'group')
        return (...args: Parameters<DocumentStore['group']>) => {
          onGroup();
          return target.group(...args);
        };
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
