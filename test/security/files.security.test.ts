/**
 * Security findings on the Files API (issue 12), each stated as the attack it stops. Real
 * components only: local disk served over real HTTP, fake-gcs-server, versitygw (S3), the embedded document store.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import fsPromises, { mkdtemp, readdir, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { FilesService } from '../../src/domain/files/files.service';
import type { ObjectStore } from '../../src/domain/ports';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { LocalDiskObjectStore } from '../../src/stores/objects/local-disk/local-disk.object-store';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

interface Ctx {
  t: TestApp;
  alice: { id: string; auth: string };
  bob: { id: string; auth: string };
}
const apps: TestApp[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
async function open(options: TestAppOptions = {}): Promise<Ctx> {
  const t = await startTestApp(options);
  apps.push(t);
  return { t, alice: await createUser(t, 'alice'), bob: await createUser(t, 'bob') };
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
  await Promise.all(cleanups.splice(0).map((clean) => clean()));
});

function blob(c: Ctx, auth: string, method: 'post' | 'put' | 'get' | 'delete', id?: string) {
  const url = `/blob/${c.t.appKey}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;
  return request(c.t.app)[method](url).set('Authorization', auth);
}

/** A single-shot upload with a known range (what fake-gcs-server and the local backend both take). */
function upload(url: string, data: Buffer, type = 'application/octet-stream') {
  return fetch(url, {
    method: 'PUT',
    redirect: 'manual',
    headers: { 'Content-Type': type, 'Content-Range': `bytes 0-${data.length - 1}/${data.length}` },
    body: data,
  });
}

async function download(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString() };
}

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

describe('finding 1: a file made private is not served publicly again', () => {
  test('an upload session opened while the file was public does not publish its bytes after a PUT made it private', async () => {
    const c = await open();
    const v1 = Buffer.from('public once');
    const created = await blob(c, c.alice.auth, 'post').send({ _id: 'f', _public: true, size: v1.length }).expect(201);
    expect((await upload(created.body._uploadURL, v1)).status).toBe(200);
    const publicUrl = (await blob(c, c.alice.auth, 'get', 'f').expect(200)).body._downloadURL as string;
    expect((await download(publicUrl)).text).toBe('public once');

    // A session opened while the file is still public...
    const stale = (await blob(c, c.alice.auth, 'put', 'f').send({ _public: true, size: 5 }).expect(200)).body
      ._uploadURL as string;
    // ...then the file is made private.
    await blob(c, c.alice.auth, 'put', 'f').send({ _public: false, size: 5 }).expect(200);
    expect((await download(publicUrl)).status).toBe(404);

    const late = await upload(stale, Buffer.from('leak!'));
    expect(late.status).toBe(404);
    expect((await download(publicUrl)).status).toBe(404);
    const record = (await blob(c, c.alice.auth, 'get', 'f').expect(200)).body;
    expect(record._public).toBe(false);
    expect(record._uploadState.status).toBe('pending');
    expect((await download(record._downloadURL)).text).toBe('public once');
  });
});

describe.each(['local', 'gcs', 's3'] as const)(
  'finding 2 on %s storage: a revoked writer cannot overwrite',
  (objects) => {
    test('an upload session begun before the owner removed the writer from _acl.w does not replace the bytes', async () => {
      const c = await open({ objects });
      const v1 = Buffer.from('owner v1');
      const created = await blob(c, c.alice.auth, 'post')
        .send({ _id: 'shared', size: v1.length, _acl: { r: [c.bob.id], w: [c.bob.id] } })
        .expect(201);
      expect((await upload(created.body._uploadURL, v1)).status).toBe(200);
      await blob(c, c.alice.auth, 'get', 'shared').expect(200); // bytes recognised

      // Bob, still a writer, opens an upload of the same length...
      const bobs = (
        await blob(c, c.bob.auth, 'put', 'shared')
          .send({ size: v1.length, _acl: { r: [c.bob.id], w: [c.bob.id] } })
          .expect(200)
      ).body._uploadURL as string;
      // ...the owner revokes his write access (a new metadata PUT)...
      await blob(c, c.alice.auth, 'put', 'shared')
        .send({ size: v1.length, _acl: { r: [c.bob.id], w: [] } })
        .expect(200);
      await blob(c, c.bob.auth, 'put', 'shared').send({ size: v1.length }).expect(401);
      // ...and Bob completes the session he began before.
      const attempt = await upload(bobs, Buffer.from('bob wins'));
      if (objects !== 'gcs') expect(attempt.status).toBe(404);

      const record = (await blob(c, c.alice.auth, 'get', 'shared').query({ tls: 'false' }).expect(200)).body;
      expect(record._uploadState).toMatchObject({ status: 'pending' });
      expect((await download(record._downloadURL)).text).toBe('owner v1');
      const asBob = (await blob(c, c.bob.auth, 'get', 'shared').query({ tls: 'false' }).expect(200)).body;
      expect((await download(asBob._downloadURL)).text).toBe('owner v1');
    });
  },
);

describe('finding 2: an upload session has an absolute deadline', () => {
  test('a session first used in time is refused after its absolute deadline, however long it kept going', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-sec-'));
    const store = new LocalDiskObjectStore({
      dir,
      publicUrl: 'http://127.0.0.1:1',
      signingSecret: randomBytes(32).toString('hex'),
    });
    cleanups.push(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    const now = Date.now();
    const target = await store.createUploadSession('app/f/x/gen0000000000000000', {
      contentType: 'text/plain',
      expiresAt: new Date(now + 30_000),
      closesAt: new Date(now + 3_600_000),
      filename: 'x',
    });
    const url = new URL(target.url);
    const id = url.pathname.split('/').pop() ?? '';
    const [expires, signature] = [url.searchParams.get('expires'), url.searchParams.get('signature')];
    expect((await store.authorizeUpload(id, expires, signature, new Date(now + 1000))).ok).toBe(true);
    // Used in time: past the first-use deadline it goes on...
    expect((await store.authorizeUpload(id, expires, signature, new Date(now + 60_000))).ok).toBe(true);
    // ...but not past the absolute one.
    expect(await store.authorizeUpload(id, expires, signature, new Date(now + 3_600_001))).toEqual({
      ok: false,
      reason: 'closed',
    });
  });
});

describe.each(['local', 'gcs', 's3'] as const)(
  'finding 3 on %s storage: old signed URLs do not serve a re-created id',
  (objects) => {
    test('a download URL issued for a deleted file does not serve a new file later created with the same _id', async () => {
      const c = await open({ objects });
      const first = await blob(c, c.alice.auth, 'post').send({ _id: 'reused', size: 6 }).expect(201);
      expect((await upload(first.body._uploadURL, Buffer.from('secret'))).status).toBe(200);
      const oldUrl = (await blob(c, c.alice.auth, 'get', 'reused').query({ tls: 'false' }).expect(200)).body
        ._downloadURL as string;
      expect((await download(oldUrl)).text).toBe('secret');
      await blob(c, c.alice.auth, 'delete', 'reused').expect(200, { count: 1 });

      // Bob creates a new, private file with the same id.
      const second = await blob(c, c.bob.auth, 'post').send({ _id: 'reused', size: 7 }).expect(201);
      expect((await upload(second.body._uploadURL, Buffer.from('bob own'))).status).toBe(200);
      const newUrl = (await blob(c, c.bob.auth, 'get', 'reused').query({ tls: 'false' }).expect(200)).body
        ._downloadURL as string;
      expect((await download(newUrl)).text).toBe('bob own');
      expect((await download(oldUrl)).status).toBe(404);
    });

    test('a re-upload leaves URLs of the previous bytes working until the new bytes arrive, then only the new URL serves', async () => {
      const c = await open({ objects });
      const created = await blob(c, c.alice.auth, 'post').send({ _id: 'v', size: 2 }).expect(201);
      expect((await upload(created.body._uploadURL, Buffer.from('v1'))).status).toBe(200);
      const v1Url = (await blob(c, c.alice.auth, 'get', 'v').query({ tls: 'false' }).expect(200)).body
        ._downloadURL as string;
      const reopened = await blob(c, c.alice.auth, 'put', 'v').send({ size: 2 }).expect(200);
      expect((await download(v1Url)).text).toBe('v1');
      expect((await upload(reopened.body._uploadURL, Buffer.from('v2'))).status).toBe(200);
      const v2Url = (await blob(c, c.alice.auth, 'get', 'v').query({ tls: 'false' }).expect(200)).body
        ._downloadURL as string;
      expect((await download(v2Url)).text).toBe('v2');
      expect((await download(v1Url)).status).toBe(404);
    });
  },
);

describe('server-only file fields', () => {
  test.each(['_kinbaseGeneration', '_kinbaseUpload.url'])(
    'a reader cannot see, query, sort on or select %s',
    async (field) => {
      const c = await open();
      const created = await blob(c, c.alice.auth, 'post')
        .send({ _id: 'g', size: 1, _kinbaseGeneration: 'x'.repeat(22) })
        .expect(201);
      expect(created.body).not.toHaveProperty('_kinbaseGeneration');
      expect((await upload(created.body._uploadURL, Buffer.from('g'))).status).toBe(200);
      const read = (await blob(c, c.alice.auth, 'get', 'g').expect(200)).body;
      expect(read).not.toHaveProperty('_kinbaseGeneration');
      expect(read).not.toHaveProperty('_kinbaseUpload');
      expect(read._downloadURL).not.toContain('x'.repeat(22));
      const query = (q: Record<string, string>) => blob(c, c.alice.auth, 'get').query(q);
      expect((await query({ query: JSON.stringify({ [field]: { $regex: '^a' } }) })).body.error).toBe(
        'InvalidQuerySyntax',
      );
      expect((await query({ query: JSON.stringify({ $or: [{ [field]: { $exists: true } }] }) })).body.error).toBe(
        'InvalidQuerySyntax',
      );
      expect((await query({ sort: JSON.stringify({ [field]: 1 }) })).body.error).toBe('InvalidQuerySyntax');
      expect((await query({ fields: field })).body.error).toBe('InvalidQuerySyntax');
      const listed = (await query({}).expect(200)).body as Record<string, unknown>[];
      expect(listed.map((doc) => Object.keys(doc).filter((k) => k.startsWith('_kinbase')))).toEqual([[]]);
    },
  );
});

describe('finding 4: upload-session costs do not grow forever', () => {
  test('a DELETE after many other uploads opens none of their upload sessions', async () => {
    const c = await open();
    for (let i = 0; i < 40; i++) {
      const other = await blob(c, c.alice.auth, 'post').send({ size: 1 }).expect(201);
      expect((await upload(other.body._uploadURL, Buffer.from('o'))).status).toBe(200);
    }
    const victim = await blob(c, c.alice.auth, 'post').send({ _id: 'victim', size: 1 }).expect(201);
    expect((await upload(victim.body._uploadURL, Buffer.from('v'))).status).toBe(200);

    // Counts reads of session records (not a stand-in: the real call runs).
    const readFile = jest.spyOn(fsPromises, 'readFile');
    try {
      await blob(c, c.alice.auth, 'delete', 'victim').expect(200, { count: 1 });
      // Paths are strings, Buffers or URLs here, never FileHandles.
      const pathText = (file: unknown) => String(file);
      const sessionReads = readFile.mock.calls.filter(([file]) =>
        pathText(file).includes(`${path.sep}.uploads${path.sep}`),
      );
      expect(sessionReads.length).toBeLessThanOrEqual(2);
    } finally {
      readFile.mockRestore();
    }
  });

  test('completed upload sessions are removed once their deadline passed, and a newer PUT removes the one it replaces', async () => {
    const c = await open();
    const uploads = path.join(c.t.config.dataDir, 'objects', '.uploads');
    for (let i = 0; i < 3; i++) {
      const file = await blob(c, c.alice.auth, 'post')
        .send({ _id: `done-${i}`, size: 1 })
        .expect(201);
      expect((await upload(file.body._uploadURL, Buffer.from('d'))).status).toBe(200);
      await blob(c, c.alice.auth, 'get', `done-${i}`).expect(200);
    }
    await blob(c, c.alice.auth, 'post').send({ _id: 'replaced', size: 1 }).expect(201);
    const sessionsBefore = (await filesUnder(uploads)).filter((name) => name.endsWith('.json')).length;
    await blob(c, c.alice.auth, 'put', 'replaced').send({ size: 1 }).expect(200);
    expect((await filesUnder(uploads)).filter((name) => name.endsWith('.json')).length).toBe(sessionsBefore);

    const files = new FilesService(c.t.documents, c.t.objects, {
      uploadUrlTtlSeconds: c.t.config.uploadUrlTtlSeconds,
      pendingUploadTtlSeconds: c.t.config.pendingUploadTtlSeconds,
      appKeys: () => [c.t.appKey],
    });
    const later = new Date(Date.now() + (c.t.config.pendingUploadTtlSeconds + 7200) * 1000);
    await files.sweepPendingUploads(later);
    expect(await filesUnder(uploads)).toEqual([]);
  });
});

/** Counts how many stat/uploadProgress calls run at once on a real store. */
function concurrencyProbe(inner: ObjectStore): { store: ObjectStore; max: () => number; calls: () => number } {
  let running = 0;
  let max = 0;
  let calls = 0;
  const counted = <T>(work: () => Promise<T>): Promise<T> => {
    running++;
    calls++;
    max = Math.max(max, running);
    return work().finally(() => running--);
  };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'stat' || prop === 'uploadProgress') && typeof value === 'function') {
        return (...args: unknown[]) =>
          counted(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, max: () => max, calls: () => calls };
}

/**
 * A FilesService on its own embedded store and local disk, whose `_blob` holds `count` files with
 * an upload still pending; `wrap` may put a probe around the object store.
 */
async function pendingFiles(count: number, wrap: (objects: ObjectStore) => ObjectStore) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-sec-'));
  const documents = new EmbeddedDocumentStore({ dir: path.join(dir, 'documents') });
  const objects = new LocalDiskObjectStore({
    dir: path.join(dir, 'objects'),
    publicUrl: 'http://127.0.0.1:1',
    signingSecret: randomBytes(32).toString('hex'),
  });
  cleanups.push(async () => {
    await Promise.allSettled([documents.close(), objects.close()]);
    await rm(dir, { recursive: true, force: true });
  });
  const appKey = 'kid_pending';
  const files = new FilesService(documents, wrap(objects), {
    uploadUrlTtlSeconds: 30,
    pendingUploadTtlSeconds: 86400,
    appKeys: () => [appKey],
  });
  const now = new Date().toISOString();
  const ids = Array.from({ length: count }, (_, i) => `pending-${i}`);
  for (const id of ids) {
    await documents.insert(
      { appKey, collection: '_blob' },
      {
        _id: id,
        _filename: id,
        size: 1,
        _public: false,
        _acl: { creator: 'u' },
        _kmd: { ect: now, lmt: now },
        _uploadState: { status: 'pending', bytesReceived: 0, md5: null },
        _kinbaseUpload: {
          openedAt: now,
          url: `http://127.0.0.1:1/storage/upload/${'s'.repeat(32)}`,
          generation: 'g'.repeat(22),
          baseline: null,
        },
      },
    );
  }
  return { files, appKey, ids };
}

describe('finding 5: one user cannot exhaust the process', () => {
  test('reading 2,000 pending-file references checks at most 16 uploads at a time', async () => {
    let probe: ReturnType<typeof concurrencyProbe> | undefined;
    const { files, appKey, ids } = await pendingFiles(2000, (objects) => (probe = concurrencyProbe(objects)).store);
    const found = await files.findByIds(appKey, ids);
    expect(found).toHaveLength(2000);
    expect(probe?.calls()).toBeGreaterThan(16);
    expect(probe?.max()).toBeLessThanOrEqual(16);
  });

  test('a read of many pending-file references costs one object-store lookup per file (no upload-session lookups)', async () => {
    const calls: Record<string, number> = {};
    const { files, appKey, ids } = await pendingFiles(
      200,
      (objects) =>
        new Proxy(objects, {
          get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    );
    expect(await files.findByIds(appKey, ids)).toHaveLength(200);
    expect(calls).toEqual({ stat: 200 });
  });

  test('running out of file handles answers 503 to the request that hit it, and the server goes on serving', async () => {
    const c = await open();
    const created = await blob(c, c.alice.auth, 'post').send({ _id: 'f', size: 5 }).expect(201);
    expect((await upload(created.body._uploadURL, Buffer.from('bytes'))).status).toBe(200);
    const url = new URL((await blob(c, c.alice.auth, 'get', 'f').expect(200)).body._downloadURL as string);
    // One kept-alive connection, opened before the handles run out (accepting one needs a handle too).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(url, { agent }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get()).toEqual({ status: 200, body: 'bytes' });
      // Every app a test closed has ended its workers (runtime.close()), so no handle of this
      // process frees itself on a timer; the fillers still retake any handle freed while the request
      // is in flight (an idle connection timing out), so the server cannot win one back.
      const fillers: number[] = [];
      const fill = () => {
        for (;;) {
          try {
            fillers.push(openSync('/dev/null', 'r'));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EMFILE' || (err as NodeJS.ErrnoException).code === 'ENFILE')
              return;
            throw err;
          }
        }
      };
      let filling = true;
      const keepFull = () => {
        if (!filling) return;
        fill();
        setImmediate(keepFull);
      };
      let during: { status: number; body: string };
      try {
        fill();
        await new Promise((resolve) => setImmediate(resolve));
        keepFull();
        during = await get();
      } finally {
        filling = false;
        for (const fd of fillers.splice(0)) closeSync(fd);
      }
      expect(during.status).toBe(503);
      expect(JSON.parse(during.body)).toMatchObject({
        error: 'KinveyInternalErrorRetry',
        debug: expect.stringMatching(/file handles/),
      });
      expect(await get()).toEqual({ status: 200, body: 'bytes' });
    } finally {
      agent.destroy();
    }
  });
});
