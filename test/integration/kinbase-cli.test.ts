/**
 * The `kinbase` command as users run it (child processes, the embedded store and local disk):
 * damaged or foreign exports and non-empty targets are refused before anything is written, an
 * interrupted import finishes when run again, --merge keeps what is there, a backup taken while a
 * writer runs restores to a state the writer acknowledged, apps are managed, and every command
 * answers --help.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { LocalDiskObjectStore } from '../../src/stores/objects/local-disk/local-disk.object-store';
import { objectKeyFor } from '../../src/domain/files/file-keys';
import { AppClient, kinbase } from '../support/kinbase-cli';
import { startServerProcess } from '../support/server-process';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const APP = { appKey: 'kid_cli', appSecret: 'app-secret-cli-0123456789', masterSecret: 'master-secret-cli-0123456789' };
const GENERATION = 'generation-0123456789';

/** A data dir with one app: 3 books, one user with a credential, one file with its bytes. */
async function seedDataDir(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'apps.json'), JSON.stringify([{ ...APP, name: 'cli', collections: {} }]));
  const store = new EmbeddedDocumentStore({ dir: path.join(dir, 'documents') });
  const books = { appKey: APP.appKey, collection: 'books' };
  for (const n of [1, 2, 3])
    await store.insert(books, {
      _id: `b${n}`,
      n,
      when: new Date(n * 1000),
      _acl: { creator: 'u1' },
      _kmd: { lmt: 'x' },
    });
  await store.insert(
    { appKey: APP.appKey, collection: 'user' },
    { _id: 'u1', username: 'ann', _acl: { creator: 'u1' } },
  );
  await store.insert({ appKey: APP.appKey, collection: '_credential' }, { _id: 'u1', hash: 'scrypt$abc' });
  await store.insert(
    { appKey: APP.appKey, collection: '_blob' },
    { _id: 'f1', _filename: 'a.txt', _public: false, _kinbaseGeneration: GENERATION, _acl: { creator: 'u1' } },
  );
  await store.close();
  const objects = new LocalDiskObjectStore({
    dir: path.join(dir, 'objects'),
    publicUrl: 'http://x',
    signingSecret: 's'.repeat(40),
  });
  await objects.write(objectKeyFor(APP.appKey, 'f1', GENERATION), Readable.from([Buffer.from('file bytes')]), {
    contentType: 'text/plain',
  });
  await objects.close();
}

/** The documents of `collection` in a data dir (read after the command exited). */
async function documentsOf(dataDir: string, collection: string) {
  const store = new EmbeddedDocumentStore({ dir: path.join(dataDir, 'documents') });
  try {
    return await store.find({ appKey: APP.appKey, collection }, {}, { sort: [['_id', 1]] });
  } finally {
    await store.close();
  }
}

describe('kinbase import refuses bad input, resumes and merges', () => {
  let root: string;
  let exported: string;
  beforeAll(async () => {
    root = makeTempDir('kinbase-cli-');
    await seedDataDir(path.join(root, 'source'));
    exported = path.join(root, 'export');
    const run = await kinbase(['export', exported], { KINBASE_DATA_DIR: path.join(root, 'source') });
    expect(run).toMatchObject({ code: 0, stderr: '' });
  });
  afterAll(() => removeTempDir(root));

  let n = 0;
  /** A fresh copy of the export, changed by `damage`, and an empty target data dir. */
  function damaged(damage: (dir: string) => void): { dir: string; env: { KINBASE_DATA_DIR: string } } {
    n++;
    const dir = path.join(root, `copy-${n}`);
    cpSync(exported, dir, { recursive: true });
    damage(dir);
    return { dir, env: { KINBASE_DATA_DIR: path.join(root, `target-${n}`) } };
  }
  const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const pathOf = (dir: string, name: string) =>
    path.join(dir, manifestOf(dir).entries.find((e: { path: string }) => e.path.endsWith(name)).path);

  test.each([
    [
      'a truncated NDJSON line',
      (dir: string) => {
        const file = pathOf(dir, 'books.ndjson');
        truncateSync(file, readFileSync(file).length - 5);
      },
      /books\.ndjson line 3: truncated/,
    ],
    [
      "a file's bytes that do not match their checksum",
      (dir: string) => {
        const file = pathOf(dir, 'files/0');
        writeFileSync(file, 'file bytez');
      },
      /files\/0 does not match its checksum in manifest\.json/,
    ],
    [
      'an NDJSON line that is not JSON',
      (dir: string) => {
        const file = pathOf(dir, 'user.ndjson');
        writeFileSync(file, '{"_id":"u1",\n');
      },
      /user\.ndjson line 1: not JSON/,
    ],
    [
      'an unknown format version',
      (dir: string) =>
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifestOf(dir), formatVersion: 99 })),
      /format version 99; this kinbase reads version 1/,
    ],
    [
      'a collection kinbase does not carry (sessions)',
      (dir: string) => {
        const manifest = manifestOf(dir);
        manifest.apps[0].collections[0].name = '_session';
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      },
      /names a collection kinbase does not import: "_session"/,
    ],
    [
      'a manifest naming a path outside the export',
      (dir: string) => {
        const manifest = manifestOf(dir);
        manifest.entries[0].path = '../../etc/passwd';
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      },
      /names a path outside the export/,
    ],
  ])('%s is refused with the file named, and nothing is written', async (_name, damage, message) => {
    const { dir, env } = damaged(damage);
    const run = await kinbase(['import', dir], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(env.KINBASE_DATA_DIR, 'apps.json'))).toBe(false);
    expect(await documentsOf(env.KINBASE_DATA_DIR, 'books')).toEqual([]);
  });

  test('a target that is not empty is refused and left as it was', async () => {
    const { dir, env } = damaged(() => undefined);
    expect(await kinbase(['import', dir], env)).toMatchObject({ code: 0, stderr: '' });
    const store = new EmbeddedDocumentStore({ dir: path.join(env.KINBASE_DATA_DIR, 'documents') });
    await store.upsert({ appKey: APP.appKey, collection: 'books' }, { _id: 'b1', changed: true });
    await store.deleteById({ appKey: APP.appKey, collection: 'books' }, 'b2');
    await store.close();
    const run = await kinbase(['import', dir], env);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(
      `kinbase: app ${APP.appKey} is not empty: import into an empty app, or pass --merge to keep what is there\n`,
    );
    expect(await documentsOf(env.KINBASE_DATA_DIR, 'books')).toEqual([
      { _id: 'b1', changed: true },
      expect.objectContaining({ _id: 'b3' }),
    ]);

    // --merge keeps b1 as it is here, brings b2 back, and names the conflicts.
    const merged = await kinbase(['import', dir, '--merge', '--json'], env);
    expect(merged.code).toBe(0);
    const result = JSON.parse(merged.stdout);
    expect(result.apps[0].conflictIds).toEqual(expect.arrayContaining(['books/b1', 'books/b3', 'user/u1', '_blob/f1']));
    expect(result.apps[0].conflictIds).not.toContain('books/b2');
    const books = await documentsOf(env.KINBASE_DATA_DIR, 'books');
    expect(books.map((b) => b._id)).toEqual(['b1', 'b2', 'b3']);
    expect(books[0]).toEqual({ _id: 'b1', changed: true });
    expect(books[1]).toEqual({ _id: 'b2', n: 2, when: new Date(2000), _acl: { creator: 'u1' }, _kmd: { lmt: 'x' } });
  });

  test('an interrupted import run again finishes without duplicates', async () => {
    const { dir, env } = damaged(() => undefined);
    expect(await kinbase(['import', dir], env)).toMatchObject({ code: 0 });
    const complete = await documentsOf(env.KINBASE_DATA_DIR, 'books');
    // What an import killed halfway leaves: its marker, part of the documents.
    const store = new EmbeddedDocumentStore({ dir: path.join(env.KINBASE_DATA_DIR, 'documents') });
    await store.insert(
      { appKey: APP.appKey, collection: '_kinbaseImport' },
      { _id: 'import', exportId: manifestOf(dir).exportId },
    );
    await store.deleteById({ appKey: APP.appKey, collection: 'books' }, 'b3');
    await store.deleteById({ appKey: APP.appKey, collection: '_credential' }, 'u1');
    await store.close();
    const again = await kinbase(['import', dir], env);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('(resumed)');
    expect(await documentsOf(env.KINBASE_DATA_DIR, 'books')).toEqual(complete);
    expect(await documentsOf(env.KINBASE_DATA_DIR, '_credential')).toEqual([{ _id: 'u1', hash: 'scrypt$abc' }]);
    expect(await documentsOf(env.KINBASE_DATA_DIR, '_kinbaseImport')).toEqual([]);
  });

  test('while a server runs, export reads a snapshot through it and import refuses the data dir; export never writes into a directory that is not empty', async () => {
    const dataDir = path.join(root, 'source');
    const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    try {
      const client = new AppClient(server.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
      expect((await client.call('POST', `/appdata/${APP.appKey}/books`, client.master, { _id: 'b4' })).status).toBe(
        201,
      );
      const snapshot = path.join(root, 'while-running');
      const run = await kinbase(['export', snapshot, '--json'], { KINBASE_DATA_DIR: dataDir });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(manifestOf(snapshot).consistency).toBe('snapshot');
      expect(readFileSync(pathOf(snapshot, 'books.ndjson'), 'utf8').trim().split('\n')).toHaveLength(4);
      expect(readFileSync(path.join(snapshot, manifestOf(snapshot).apps[0].files.path), 'utf8')).toContain('"f1"');
      const refused = await kinbase(['import', exported, '--merge'], { KINBASE_DATA_DIR: dataDir });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^kinbase: the data dir .* is in use by a running kinbase: stop it first/);
    } finally {
      await server.stop();
    }
    const full = await kinbase(['export', exported], { KINBASE_DATA_DIR: dataDir });
    expect(full).toMatchObject({ code: 1, stderr: `kinbase: ${exported} is not empty: export into a new directory\n` });
  });
});

describe('kinbase backup and restore', () => {
  test('a backup taken while a writer runs restores to a state the writer acknowledged', async () => {
    const root = makeTempDir('kinbase-cli-backup-');
    try {
      const dataDir = path.join(root, 'data');
      await seedDataDir(dataDir);
      const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
      const client = new AppClient(server.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
      let acknowledged = 0;
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const res = await client.call('POST', `/appdata/${APP.appKey}/log`, client.master, {
            _id: `e${String(i).padStart(6, '0')}`,
          });
          if (res.status !== 201) throw new Error(`write ${i}: ${res.status}`);
          acknowledged = i + 1;
        }
      })();
      while (acknowledged < 20) await new Promise((r) => setTimeout(r, 5));
      const before = acknowledged;
      const backup = await kinbase(['backup', path.join(root, 'backup')], { KINBASE_DATA_DIR: dataDir });
      const after = acknowledged;
      stop = true;
      await writer;
      await server.stop();
      expect(backup).toMatchObject({ code: 0, stderr: '' });
      expect(backup.stdout).toContain('online, through the running server');

      const restoredDir = path.join(root, 'restored');
      const restore = await kinbase(['restore', path.join(root, 'backup')], { KINBASE_DATA_DIR: restoredDir });
      expect(restore).toMatchObject({ code: 0, stderr: '' });
      const restored = await startServerProcess({ KINBASE_DATA_DIR: restoredDir });
      try {
        const again = new AppClient(restored.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
        const ids = (
          (await again.call('GET', `/appdata/${APP.appKey}/log?sort={"_id":1}`, again.master)).body as { _id: string }[]
        ).map((d) => d._id);
        // A prefix of what the writer wrote: everything acknowledged before the backup began, at most what it acknowledged (plus the one in flight) by its end.
        expect(ids.length).toBeGreaterThanOrEqual(before);
        expect(ids.length).toBeLessThanOrEqual(after + 1);
        expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => `e${String(i).padStart(6, '0')}`));
        const file = await again.call('GET', `/blob/${APP.appKey}/f1`, again.master);
        expect(Buffer.from(await (await fetch(file.body._downloadURL as string)).arrayBuffer()).toString()).toBe(
          'file bytes',
        );
      } finally {
        await restored.stop();
      }
      const twice = await kinbase(['restore', path.join(root, 'backup')], { KINBASE_DATA_DIR: restoredDir });
      expect(twice).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/is not empty: restore into an empty data dir\n$/),
      });
    } finally {
      removeTempDir(root);
    }
  }, 60_000);
});

describe('kinbase apps and the command line', () => {
  test('apps create, list and rotate-secret change the data dir apps the server serves', async () => {
    const dataDir = makeTempDir('kinbase-cli-apps-');
    try {
      const env = { KINBASE_DATA_DIR: dataDir };
      const created = JSON.parse((await kinbase(['apps', 'create', '--name', 'Shop', '--json'], env)).stdout);
      expect(created.app).toMatchObject({ appKey: expect.stringMatching(/^kid_[a-z0-9]{12}$/), name: 'Shop' });
      const listed = JSON.parse((await kinbase(['--json', 'apps', 'list'], env)).stdout);
      expect(listed).toEqual({ ok: true, apps: [{ appKey: created.app.appKey, name: 'Shop' }] });
      const rotated = JSON.parse(
        (await kinbase(['apps', 'rotate-secret', created.app.appKey, '--master', '--json'], env)).stdout,
      );
      expect(rotated.app.masterSecret).not.toBe(created.app.masterSecret);
      const server = await startServerProcess(env);
      try {
        const client = new AppClient(
          server.baseUrl,
          created.app.appKey,
          created.app.appSecret,
          rotated.app.masterSecret,
        );
        expect((await client.call('GET', `/appdata/${created.app.appKey}`, client.master)).status).toBe(200);
        const old = new AppClient(server.baseUrl, created.app.appKey, created.app.appSecret, created.app.masterSecret);
        expect((await old.call('GET', `/appdata/${created.app.appKey}`, old.master)).status).toBe(401);
      } finally {
        await server.stop();
      }
      const unknown = await kinbase(['apps', 'rotate-secret', 'kid_nope'], env);
      expect(unknown).toMatchObject({
        code: 1,
        stderr: `kinbase: no app kid_nope in ${path.join(dataDir, 'apps.json')}\n`,
      });
    } finally {
      removeTempDir(dataDir);
    }
  });

  test('every command answers --help with exit code 0; a wrong command line exits 1', async () => {
    const env = { KINBASE_DATA_DIR: '/nonexistent/never-written' };
    const commands = [
      [],
      ['export'],
      ['import'],
      ['pull'],
      ['backup'],
      ['restore'],
      ['apps'],
      ['apps', 'list'],
      ['apps', 'create'],
      ['apps', 'rotate-secret'],
    ];
    const runs = await Promise.all(commands.map((command) => kinbase([...command, '--help'], env)));
    for (const run of runs) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^Usage: kinbase/);
    }
    expect((await kinbase(['frobnicate'], env)).code).toBe(1);
    expect((await kinbase(['pull', 'http://x'], env)).code).toBe(1);
    const badConfig = await kinbase(['apps', 'list'], { KINBASE_DATA_DIR: '/tmp', PORT: 'eighty' });
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr.split('\n')).toHaveLength(2);
  });
});
