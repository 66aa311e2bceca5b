/**
 * Issue 16's migration: the built server, started on a data dir the old nedb-based embedded store
 * wrote (made here with the real @seald-io/nedb, uncompacted, so replaced and deleted lines are
 * in the files), serves exactly what nedb would have loaded, keeps its unique indexes, moves the
 * originals aside, shows its progress on the console, and does not migrate a second time.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { types } from 'node:util';
import Datastore from '@seald-io/nedb';
import type { CollectionScope, StoredDocument } from '../../src/domain/ports';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { MIGRATED_DIR } from '../../src/stores/documents/embedded/legacy-nedb/nedb-migration';
import { startServerProcess } from '../support/server-process';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

/** The old store's file name encoding (its safeSegment), which the data on disk was written with. */
const oldSegment = (name: string) =>
  name.replace(/^\.|[^A-Za-z0-9_.-]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((byte) => `~${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
const oldFile = (documents: string, scope: CollectionScope) =>
  path.join(documents, oldSegment(scope.appKey), `${oldSegment(scope.collection)}.db`);

/** A datafile opened the way the old store opened it (its own writes then append to the file). */
async function oldCollection(documents: string, scope: CollectionScope): Promise<Datastore<StoredDocument>> {
  const db = new Datastore<StoredDocument>({ filename: oldFile(documents, scope) });
  await db.loadDatabaseAsync();
  return db;
}

/** What nedb itself loads from a datafile, read from a copy (loading compacts the file). */
async function nedbView(documents: string, scope: CollectionScope): Promise<StoredDocument[]> {
  const copy = makeTempDir('kinbase-nedb-view-');
  try {
    cpSync(oldFile(documents, scope), path.join(copy, 'c.db'));
    const db = new Datastore<StoredDocument>({ filename: path.join(copy, 'c.db') });
    await db.loadDatabaseAsync();
    return db.getAllData<StoredDocument>().sort((a, b) => a._id.localeCompare(b._id));
  } finally {
    removeTempDir(copy);
  }
}

const stamp = (minute: number) => ({
  ect: `2024-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`,
  lmt: `2024-03-01T10:${String(minute).padStart(2, '0')}:30.000Z`,
});

describe('starting on a data dir of the old nedb store', () => {
  const appKey = `kid_${randomBytes(6).toString('hex')}`;
  const otherKey = `kid_${randomBytes(6).toString('hex')}`;
  const app = {
    appKey,
    appSecret: randomBytes(16).toString('hex'),
    masterSecret: randomBytes(16).toString('hex'),
    name: 'migrated',
  };
  const other = {
    appKey: otherKey,
    appSecret: randomBytes(16).toString('hex'),
    masterSecret: randomBytes(16).toString('hex'),
    name: 'other',
  };
  const products: CollectionScope = { appKey, collection: 'products' };
  const notes: CollectionScope = { appKey, collection: 'notes' };
  const users: CollectionScope = { appKey, collection: 'user' };
  const tasks: CollectionScope = { appKey: otherKey, collection: 'tasks' };
  /** Not a name /appdata accepts, but one the store layer was given: it needed ~XX in its file name. */
  const odd: CollectionScope = { appKey: otherKey, collection: 'Übersicht 2/3 ~draft' };
  const scopes = [products, notes, users, tasks, odd];

  let dataDir: string;
  let documents: string;
  const expected = new Map<CollectionScope, StoredDocument[]>();
  const originals = new Map<CollectionScope, Buffer>();

  beforeAll(async () => {
    dataDir = makeTempDir('kinbase-nedb-migration-');
    documents = path.join(dataDir, 'documents');
    writeFileSync(path.join(dataDir, 'apps.json'), JSON.stringify([app, other]), { mode: 0o600 });

    const acl = { creator: appKey };
    const p = await oldCollection(documents, products);
    await p.ensureIndexAsync({ fieldName: 'sku', unique: true, sparse: false });
    await p.ensureIndexAsync({ fieldName: '_acl.creator' });
    for (let i = 0; i < 40; i++) {
      await p.insertAsync({
        _id: `p${i}`,
        sku: `SKU-${i}`,
        price: i * 1.5,
        tags: ['new', `t${i % 4}`],
        dims: { w: i, h: { cm: i * 2 } },
        _acl: acl,
        _kmd: stamp(i % 60),
      });
    }
    // The old store's writes: upsert (PUT), $set (setFields), remove (DELETE).
    await p.updateAsync(
      { _id: 'p1' },
      { _id: 'p1', sku: 'SKU-1', price: 99, replaced: true, _acl: acl, _kmd: stamp(59) },
      { upsert: true },
    );
    await p.updateAsync({ _id: 'p2' }, { $set: { price: 7, 'dims.h.cm': 0 } }, {});
    await p.updateAsync({ _id: 'p2' }, { $set: { price: 8 } }, {});
    await p.removeAsync({ _id: { $in: ['p3', 'p4', 'p5'] } }, { multi: true });
    await p.updateAsync({ _id: 'p4' }, { _id: 'p4', sku: 'SKU-4-again', _acl: acl, _kmd: stamp(1) }, { upsert: true });
    await p.removeIndexAsync('_acl.creator');

    const n = await oldCollection(documents, notes);
    await n.insertAsync({
      _id: 'n1',
      text: 'first',
      due: new Date(Date.UTC(2025, 5, 30, 12)),
      history: [{ at: new Date(0), by: 'a' }],
      _acl: acl,
      _kmd: stamp(2),
    });
    await n.insertAsync({ _id: 'n2', text: 'second', empty: {}, none: null, list: [], _acl: acl, _kmd: stamp(3) });
    await n.updateAsync({ _id: 'n2' }, { $set: { text: 'second, edited' } }, {});
    await n.insertAsync({ _id: 'n3', text: 'gone', _acl: acl, _kmd: stamp(4) });
    await n.removeAsync({ _id: 'n3' }, {});

    const u = await oldCollection(documents, users);
    await u.ensureIndexAsync({ fieldName: 'username', unique: true });
    await u.insertAsync({
      _id: 'u1',
      username: 'ada',
      email: 'ada@example.com',
      _acl: { creator: 'u1' },
      _kmd: stamp(5),
    });

    const t = await oldCollection(documents, tasks);
    await t.insertAsync([
      { _id: 't1', done: false, _acl: { creator: otherKey }, _kmd: stamp(6) },
      { _id: 't2', done: true, _acl: { creator: otherKey }, _kmd: stamp(7) },
    ]);
    const o = await oldCollection(documents, odd);
    await o.insertAsync({ _id: 'o1', when: new Date(Date.UTC(2020, 0, 1)) });

    for (const scope of scopes) {
      expected.set(scope, await nedbView(documents, scope));
      originals.set(scope, readFileSync(oldFile(documents, scope)));
    }
    // Uncompacted: the superseded and deleted lines are still in the files.
    expect(originals.get(products)?.toString()).toContain('"$$deleted":true');
    expect(originals.get(products)?.toString()).toContain('"$$indexRemoved":"_acl.creator"');
  });

  afterAll(() => removeTempDir(dataDir));

  test('serves every surviving document exactly, keeps the unique index, moves the originals, and migrates once', async () => {
    const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_LOG_LEVEL: 'info' });
    try {
      const get = (key: typeof app, url: string) =>
        fetch(`${server.baseUrl}${url}`, { headers: { Authorization: basic(key.appKey, key.masterSecret) } });
      const list = async (key: typeof app, collection: string) => {
        const res = await get(key, `/appdata/${key.appKey}/${collection}?sort=${encodeURIComponent('{"_id":1}')}`);
        expect(res.status).toBe(200);
        return res.json();
      };
      const asJson = (scope: CollectionScope) => JSON.parse(JSON.stringify(expected.get(scope)));

      expect(await list(app, 'products')).toEqual(asJson(products));
      expect(await list(app, 'notes')).toEqual(asJson(notes));
      expect(await list(other, 'tasks')).toEqual(asJson(tasks));
      expect(asJson(products).map((d: StoredDocument) => d._id)).toEqual(expect.arrayContaining(['p1', 'p4']));
      for (const id of ['p3', 'p5']) expect((await get(app, `/appdata/${appKey}/products/${id}`)).status).toBe(404);
      expect((await get(app, `/appdata/${appKey}/notes/n3`)).status).toBe(404);
      const ada = await get(app, `/user/${appKey}/u1`);
      expect(ada.status).toBe(200);
      expect(await ada.json()).toMatchObject({ _id: 'u1', username: 'ada', email: 'ada@example.com' });

      const post = (body: object) =>
        fetch(`${server.baseUrl}/appdata/${appKey}/products`, {
          method: 'POST',
          headers: { Authorization: basic(appKey, app.masterSecret), 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      const duplicate = await post({ sku: 'SKU-7' });
      expect(duplicate.status).toBe(409);
      expect((await post({ sku: 'SKU-new' })).status).toBe(201);

      const output = server.output();
      expect(output).toContain(`nedb migration: ${scopes.length} datafile(s) of the old embedded store found`);
      for (const scope of scopes)
        expect(output).toContain(
          `nedb migration: ${scope.appKey}/${scope.collection}: reading ${oldFile(documents, scope)}`,
        );
      expect(output).toMatch(/nedb migration: done, \d+ document\(s\) from 5 datafile\(s\)/u);
      // Once for the machine: the cluster's primary migrates before its workers start.
      expect(output.match(/nedb migration: done/gu)).toHaveLength(1);
      expect(output).not.toMatch(/"level":40/u); // no warnings: nothing was skipped or corrupt
    } finally {
      expect(await server.stop()).toBe(0);
    }

    for (const scope of scopes) {
      expect(existsSync(oldFile(documents, scope))).toBe(false);
      expect(readFileSync(oldFile(path.join(documents, MIGRATED_DIR), scope))).toEqual(originals.get(scope));
    }

    const again = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_LOG_LEVEL: 'info' });
    try {
      expect(again.output()).not.toContain('nedb migration');
      const res = await fetch(`${again.baseUrl}/appdata/${appKey}/products/_count`, {
        headers: { Authorization: basic(appKey, app.masterSecret) },
      });
      expect(await res.json()).toEqual({ count: (expected.get(products)?.length ?? 0) + 1 });
    } finally {
      expect(await again.stop()).toBe(0);
    }

    // Below HTTP: dates are Dates again, and the name that needed ~XX in its file name is intact.
    const store = new EmbeddedDocumentStore({ dir: documents });
    try {
      const [n1] = await store.findByIds(notes, ['n1']);
      expect(types.isDate(n1?.due)).toBe(true);
      expect((n1?.due as Date).toISOString()).toBe('2025-06-30T12:00:00.000Z');
      expect(types.isDate((n1?.history as { at: unknown }[])[0]?.at)).toBe(true);
      const oddDocs = await store.find(odd, {});
      expect(oddDocs).toHaveLength(1);
      expect(types.isDate(oddDocs[0]?.when)).toBe(true);
      expect(JSON.stringify(oddDocs)).toBe(JSON.stringify(expected.get(odd)));
    } finally {
      await store.close();
    }
  }, 120_000);
});
