/**
 * KinveyFile references: stripped to {_type,_id} on save, resolved on read with the reader's
 * rights, in one metadata query per response, on both document stores and both object backends.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import pino from 'pino';
import request from 'supertest';
import type { CollectionScope, DocumentStore, Filter, FindOptions } from '../../src/domain/ports';
import { REFERENCE_REFRESH_BUDGET_MS } from '../../src/domain/files/files.service';
import { MAX_REFERENCE_DEPTH } from '../../src/domain/files/kinvey-file-refs';
import { startFakeGcs } from '../support/fake-gcs';
import { makePng } from '../support/png';
import { signedInPoolDuring } from '../support/rsa-signing';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

interface Ctx {
  t: TestApp;
  a: { id: string; auth: string };
  b: { id: string; auth: string };
  blobQueries: () => number;
}
const open: TestApp[] = [];
/** Temp dirs of the current test, removed once its apps are closed. */
const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  for (const dir of scratch.splice(0)) removeTempDir(dir);
});

/** Counts the document-store reads of the `_blob` collection (the metadata lookups). */
function countingBlobReads(store: DocumentStore, counter: { n: number }): DocumentStore {
  const isBlob = (scope: CollectionScope) => scope.collection === '_blob';
  return Object.assign(Object.create(store) as DocumentStore, {
    find: (scope: CollectionScope, filter: Filter, options?: FindOptions) => {
      if (isBlob(scope)) counter.n++;
      return store.find(scope, filter, options);
    },
    findByIds: (scope: CollectionScope, ids: readonly string[], filter?: Filter) => {
      if (isBlob(scope)) counter.n++;
      return store.findByIds(scope, ids, filter);
    },
    close: () => store.close(),
  });
}

async function setup(options: TestAppOptions = {}): Promise<Ctx> {
  const counter = { n: 0 };
  const t = await startTestApp({ ...options, wrapDocuments: (s) => countingBlobReads(s, counter) });
  open.push(t);
  return { t, a: await createUser(t, 'alice'), b: await createUser(t, 'bob'), blobQueries: () => counter.n };
}

/** Uploads a file as `auth` through the real two-step API and returns its id. */
async function upload(
  c: Ctx,
  auth: string,
  meta: Record<string, unknown>,
  data: Buffer = randomBytes(1000),
): Promise<string> {
  const res = await request(c.t.app)
    .post(`/blob/${c.t.appKey}`)
    .set('Authorization', auth)
    .set('X-Kinvey-Content-Type', 'image/png')
    .send({ mimeType: 'image/png', size: data.length, ...meta })
    .expect(201);
  // Behind an https public URL (no TLS here) the test reaches the same server over http.
  const target = (res.body._uploadURL as string).replace(/^https:\/\/127\.0\.0\.1:/, 'http://127.0.0.1:');
  const put = await fetch(target, {
    method: 'PUT',
    headers: { ...res.body._requiredHeaders, 'Content-Type': 'image/png' },
    body: data,
  });
  expect(put.status).toBeLessThan(300);
  return res.body._id as string;
}

/** An app logger at `warn` that keeps the message of every line it writes. */
function warningLog(): { logger: pino.Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) },
  );
  return { logger, warnings };
}

const ref = (id: string) => ({ _type: 'KinveyFile', _id: id });
const save = (c: Ctx, auth: string, coll: string, body: object, query: Record<string, string> = {}) =>
  request(c.t.app).post(`/appdata/${c.t.appKey}/${coll}`).set('Authorization', auth).query(query).send(body);
const get = (c: Ctx, auth: string, path: string, query: Record<string, string> = {}) =>
  request(c.t.app).get(`/appdata/${c.t.appKey}/${path}`).set('Authorization', auth).query(query);

describe.each(DOCUMENT_STORES)('KinveyFile references on the %s document store', (documents) => {
  test("the profile image: a public avatar on A's user record is a permanent URL for B; A's private file gives B no URL", async () => {
    const c = await setup({ documents });
    const image = randomBytes(2048);
    const avatar = await upload(c, c.a.auth, { _filename: 'me.png', _public: true, _acl: { gr: true } }, image);
    await request(c.t.app)
      .put(`/user/${c.t.appKey}/${c.a.id}`)
      .set('Authorization', c.a.auth)
      .send({ username: 'alice', avatar: ref(avatar) })
      .expect(200);

    const seen = await request(c.t.app).get(`/user/${c.t.appKey}/${c.a.id}`).set('Authorization', c.b.auth).expect(200);
    expect(seen.body.avatar).toMatchObject({
      _type: 'KinveyFile',
      _id: avatar,
      _filename: 'me.png',
      mimeType: 'image/png',
      _public: true,
      _downloadURL: expect.any(String),
    });
    expect(seen.body.avatar).not.toHaveProperty('_expiresAt');
    const fetched = await fetch(seen.body.avatar._downloadURL);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(image)).toBe(true);

    const secret = await upload(c, c.a.auth, { _filename: 'private.png' });
    await save(c, c.a.auth, 'posts', { _id: 'p1', photo: ref(secret) }).expect(201);
    const post = await get(c, c.b.auth, 'posts/p1').expect(200);
    expect(post.body.photo).toEqual(ref(secret));
    const own = await get(c, c.a.auth, 'posts/p1').expect(200);
    expect(own.body.photo).toMatchObject({
      _id: secret,
      _downloadURL: expect.any(String),
      _expiresAt: expect.any(String),
      _acl: { creator: c.a.id },
    });
  });

  test('references in nested objects and arrays, at any depth, are all resolved in one metadata query', async () => {
    const c = await setup({ documents });
    const f1 = await upload(c, c.a.auth, { _filename: 'one.png' });
    const f2 = await upload(c, c.a.auth, { _filename: 'two.png', note: 'custom metadata' });
    let deep: Record<string, unknown> = { leaf: ref(f1) };
    for (let i = 0; i < 20; i++) deep = { level: deep };
    await save(c, c.a.auth, 'albums', {
      _id: 'al',
      cover: ref(f1),
      pages: [{ list: [ref(f2)] }, { inner: [ref(f1), 'text', ref('missing-file')] }],
      deep,
    }).expect(201);

    const before = c.blobQueries();
    const res = await get(c, c.a.auth, 'albums/al').expect(200);
    expect(c.blobQueries() - before).toBe(1);
    expect(res.body.cover).toMatchObject({ _id: f1, _filename: 'one.png', _downloadURL: expect.any(String) });
    expect(res.body.pages[0].list[0]).toMatchObject({ _id: f2, _filename: 'two.png', note: 'custom metadata' });
    expect(res.body.pages[1].inner[0]).toMatchObject({ _id: f1, _downloadURL: res.body.cover._downloadURL });
    expect(res.body.pages[1].inner[1]).toBe('text');
    expect(res.body.pages[1].inner[2]).toEqual(ref('missing-file'));
    let node = res.body.deep;
    for (let i = 0; i < 20; i++) node = node.level;
    expect(node.leaf).toMatchObject({ _id: f1, _downloadURL: expect.any(String) });
  });

  test('a list of many entities sharing files costs one metadata query, and _count none', async () => {
    const c = await setup({ documents });
    const f1 = await upload(c, c.a.auth, {});
    const f2 = await upload(c, c.a.auth, {});
    const docs = Array.from({ length: 60 }, (_, n) => ({ n, a: ref(f1), b: [ref(n % 2 ? f1 : f2)] }));
    for (let i = 0; i < docs.length; i += 30) await save(c, c.a.auth, 'cards', docs.slice(i, i + 30)).expect(201);

    const before = c.blobQueries();
    const res = await get(c, c.a.auth, 'cards').expect(200);
    expect(c.blobQueries() - before).toBe(1);
    expect(res.body).toHaveLength(60);
    for (const card of res.body) expect(card.a._downloadURL).toBe(res.body[0].a._downloadURL);
    await get(c, c.a.auth, 'cards/_count').expect(200);
    expect(c.blobQueries() - before).toBe(1);
  });

  test('on save, stale URLs and spoofed fields are stripped; KinveyRef and look-alikes are untouched', async () => {
    const c = await setup({ documents });
    const f1 = await upload(c, c.a.auth, {});
    const spoofed = {
      _type: 'KinveyFile',
      _id: f1,
      _downloadURL: 'https://evil.example/x',
      _expiresAt: '2000-01-01T00:00:00.000Z',
      _filename: 'fake',
      _acl: { gr: true },
      _public: true,
    };
    const other = { _type: 'KinveyRef', _collection: 'posts', _id: 'p1', extra: 1 };
    await save(c, c.a.auth, 'things', {
      _id: 't1',
      file: spoofed,
      list: [spoofed],
      other,
      plain: { _id: f1, _downloadURL: 'kept' },
    }).expect(201);
    await request(c.t.app)
      .put(`/appdata/${c.t.appKey}/things/t2`)
      .set('Authorization', c.a.auth)
      .send({ file: spoofed })
      .expect(201);

    const [stored] = await c.t.documents.findByIds({ appKey: c.t.appKey, collection: 'things' }, ['t1']);
    expect(stored).toMatchObject({ file: ref(f1), list: [ref(f1)], other, plain: { _id: f1, _downloadURL: 'kept' } });
    expect(stored?.file).toEqual(ref(f1));
    const [replaced] = await c.t.documents.findByIds({ appKey: c.t.appKey, collection: 'things' }, ['t2']);
    expect(replaced?.file).toEqual(ref(f1));
  });

  test('a reference without a string _id is a 400 and stores nothing', async () => {
    const c = await setup({ documents });
    for (const bad of [{ _type: 'KinveyFile' }, { _type: 'KinveyFile', _id: 42 }, { _type: 'KinveyFile', _id: '' }]) {
      const res = await save(c, c.a.auth, 'things', { _id: 'bad', file: bad }).expect(400);
      expect(res.body).toMatchObject({
        error: 'BadRequest',
        description: expect.any(String),
        debug: expect.stringContaining('file'),
      });
    }
    await get(c, c.a.auth, 'things/bad').expect(404);
  });

  test('a deleted file leaves the reference bare', async () => {
    const c = await setup({ documents });
    const f1 = await upload(c, c.a.auth, {});
    await save(c, c.a.auth, 'things', { _id: 't1', file: ref(f1) }).expect(201);
    await request(c.t.app).delete(`/blob/${c.t.appKey}/${f1}`).set('Authorization', c.a.auth).expect(200);
    const res = await get(c, c.a.auth, 'things/t1').expect(200);
    expect(res.body.file).toEqual(ref(f1));
  });
});

describe('KinveyFile link parameters and URL stability', () => {
  test('kinveyfile_ttl sets _expiresAt (at least now + ttl, quantised), and the URL downloads', async () => {
    const c = await setup();
    const f1 = await upload(c, c.a.auth, {});
    await save(c, c.a.auth, 'things', { _id: 't1', file: ref(f1) }).expect(201);
    const start = Date.now();
    const res = await get(c, c.a.auth, 'things/t1', { kinveyfile_ttl: '600', kinveyfile_tls: 'true' }).expect(200);
    const expiresAt = Date.parse(res.body.file._expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(start + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000 + 60_000);
    // The test server is plain http, so both schemes give the http URL it serves (see local-disk tests for https origins).
    expect(res.body.file._downloadURL).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect((await fetch(res.body.file._downloadURL)).status).toBe(200);
  });

  test('kinveyfile_tls picks the scheme of every reference URL behind an https origin', async () => {
    // Links name the https origin a TLS-terminating proxy would serve; the test reaches the same server over http.
    const c = await setup({ publicUrl: (baseUrl) => baseUrl.replace(/^http:/, 'https:') });
    const priv = await upload(c, c.a.auth, {});
    const pub = await upload(c, c.a.auth, { _public: true });
    await save(c, c.a.auth, 'things', { _id: 't1', p: ref(priv), q: [ref(pub)] }).expect(201);
    type Body = { p: { _downloadURL: string }; q: { _downloadURL: string }[] };
    const read = async (query: Record<string, string>) =>
      (await get(c, c.a.auth, 'things/t1', query).expect(200)).body as Body;
    const httpsOrigin = c.t.baseUrl.replace(/^http:/, 'https:');
    for (const body of [await read({}), await read({ kinveyfile_tls: 'true' })]) {
      expect(body.p._downloadURL.startsWith(`${httpsOrigin}/`)).toBe(true);
      expect(body.q[0]?._downloadURL.startsWith(`${httpsOrigin}/`)).toBe(true);
    }
    const plain = await read({ kinveyfile_tls: 'false' });
    expect(plain.p._downloadURL.startsWith(`${c.t.baseUrl}/`)).toBe(true);
    expect(plain.q[0]?._downloadURL.startsWith(`${c.t.baseUrl}/`)).toBe(true);
    // The http links download as they are (the scheme is not part of the signature).
    expect((await fetch(plain.p._downloadURL)).status).toBe(200);
    expect((await fetch(plain.q[0]?._downloadURL as string)).status).toBe(200);
  });

  test('repeated reads inside one window return the identical URL, and it downloads', async () => {
    const c = await setup();
    const data = randomBytes(512);
    const f1 = await upload(c, c.a.auth, {}, data);
    await save(c, c.a.auth, 'things', { _id: 't1', file: ref(f1) }).expect(201);
    const urls = new Set<string>();
    for (let i = 0; i < 3; i++)
      urls.add((await get(c, c.a.auth, 'things/t1', { kinveyfile_ttl: '3600' })).body.file._downloadURL);
    expect(urls.size).toBe(1);
    const fetched = await fetch([...urls][0] as string);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);
  });

  test.each([['0'], ['604801'], ['abc']])(
    'kinveyfile_ttl=%s is 400 ParameterValueOutOfRange and the save does not happen',
    async (ttl) => {
      const c = await setup();
      const res = await save(c, c.a.auth, 'things', { _id: 'never', v: 1 }, { kinveyfile_ttl: ttl }).expect(400);
      expect(res.body.error).toBe('ParameterValueOutOfRange');
      await get(c, c.a.auth, 'things/never').expect(404);
    },
  );

  test(`references nested deeper than ${MAX_REFERENCE_DEPTH} levels stay bare, and the read succeeds`, async () => {
    const c = await setup();
    const f1 = await upload(c, c.a.auth, {});
    let deep: Record<string, unknown> = { leaf: ref(f1) };
    for (let i = 0; i < MAX_REFERENCE_DEPTH + 5; i++) deep = { d: deep };
    await save(c, c.a.auth, 'things', { _id: 't1', deep }).expect(201);
    const res = await get(c, c.a.auth, 'things/t1').expect(200);
    let node = res.body.deep;
    for (let i = 0; i < MAX_REFERENCE_DEPTH + 5; i++) node = node.d;
    expect(node.leaf).toEqual(ref(f1));
  });

  test('an unreadable public file shows its permanent URL but not its ACL or custom metadata', async () => {
    const c = await setup();
    const f1 = await upload(c, c.a.auth, { _public: true, secretNote: 'hidden' });
    await save(c, c.a.auth, 'things', { _id: 't1', file: ref(f1) }).expect(201);
    const res = await get(c, c.b.auth, 'things/t1').expect(200);
    expect(res.body.file).toMatchObject({
      _type: 'KinveyFile',
      _id: f1,
      _public: true,
      _downloadURL: expect.any(String),
    });
    expect(res.body.file).not.toHaveProperty('_acl');
    expect(res.body.file).not.toHaveProperty('secretNote');
  });
});

describe('KinveyFile references on Google Cloud Storage (fake-gcs-server)', () => {
  test('private references get V4 signed URLs for the right object; public ones the object URL', async () => {
    const c = await setup({ objects: 'gcs' });
    const priv = await upload(c, c.a.auth, { _filename: 'p.png' });
    const pub = await upload(c, c.a.auth, { _filename: 'q.png', _public: true });
    await save(c, c.a.auth, 'things', { _id: 't1', p: ref(priv), q: [ref(pub)] }).expect(201);
    const res = await get(c, c.a.auth, 'things/t1', { kinveyfile_ttl: '120' }).expect(200);
    const signed = new URL(res.body.p._downloadURL);
    expect(signed.searchParams.get('X-Goog-Algorithm')).toMatch(/^GOOG4-(RSA|HMAC)-SHA256$/);
    expect(Number(signed.searchParams.get('X-Goog-Expires'))).toBeGreaterThanOrEqual(120);
    expect(res.body.p._expiresAt).toEqual(expect.any(String));
    expect(res.body.q[0]._downloadURL).not.toContain('X-Goog-Signature');
    expect(res.body.q[0]).not.toHaveProperty('_expiresAt');
    const fetched = await fetch(res.body.q[0]._downloadURL);
    expect(fetched.status).toBe(200);
  });
});

describe('KinveyFile references on S3 (versitygw)', () => {
  test('private references get SigV4 presigned URLs the bucket serves; public ones the public copy', async () => {
    const c = await setup({ objects: 's3' });
    const priv = await upload(c, c.a.auth, { _filename: 'p.png' });
    const pub = await upload(c, c.a.auth, { _filename: 'q.png', _public: true });
    await save(c, c.a.auth, 'things', { _id: 't1', p: ref(priv), q: [ref(pub)] }).expect(201);
    const res = await get(c, c.a.auth, 'things/t1', { kinveyfile_ttl: '120', kinveyfile_tls: 'false' }).expect(200);
    const signed = new URL(res.body.p._downloadURL);
    expect(signed.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(res.body.p._expiresAt).toEqual(expect.any(String));
    const again = await get(c, c.a.auth, 'things/t1', { kinveyfile_ttl: '120', kinveyfile_tls: 'false' }).expect(200);
    expect(again.body.p._downloadURL).toBe(res.body.p._downloadURL);
    expect(new URL(res.body.q[0]._downloadURL).pathname).toContain('/public.kinbase/');
    expect(res.body.q[0]).not.toHaveProperty('_expiresAt');
    for (const url of [res.body.p._downloadURL, res.body.q[0]._downloadURL]) {
      const fetched = await fetch(url);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toBe('image/png');
    }
  });
});

describe('a read resolving 1,000 references (GCS, RSA signing in workers)', () => {
  test('signs all 1,000 URLs in the RSA signer-pool workers, none on the event-loop thread', async () => {
    const c = await setup({ objects: 'gcs' });
    // 1,000 completed file records written straight to the store: signing needs the records, not
    // the bytes (uploading 1,000 objects would only measure the emulator).
    const scope = { appKey: c.t.appKey, collection: '_blob' };
    const now = new Date().toISOString();
    const ids = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    for (const id of ids) {
      await c.t.documents.insert(scope, {
        _id: id,
        _filename: `${id}.png`,
        mimeType: 'image/png',
        size: 1,
        _public: false,
        _acl: { creator: c.a.id },
        _kmd: { ect: now, lmt: now },
        _uploadState: { status: 'complete', bytesReceived: 1, md5: 'x' },
      });
    }
    await save(c, c.a.auth, 'many', { _id: 'm', files: ids.map(ref) }).expect(201);

    // Signing on the event loop would block it for about 1 ms per URL; how long it stalls with
    // the pool is measured by `npm run bench:references` (README, "Performance"), not asserted here.
    // A TTL no read used before, so every URL is signed afresh (cold cache).
    const {
      result: res,
      signedByWorker,
      signedOnLoop,
    } = await signedInPoolDuring(async () => get(c, c.a.auth, 'many/m', { kinveyfile_ttl: '1000' }).expect(200));
    const files = (res.body as { files: { _downloadURL?: string }[] }).files;
    expect(files.filter((f) => f._downloadURL?.includes('X-Goog-Algorithm=GOOG4-RSA-SHA256')).length).toBe(1000);
    expect(new Set(files.map((f) => f._downloadURL)).size).toBe(1000);
    expect(signedOnLoop).toBe(0);
    expect([...signedByWorker.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    expect([...signedByWorker.keys()]).not.toContain(threadId);
  });
});

describe('KinveyFile references while object storage is down', () => {
  test('a reference to a pending upload shows its stored record and the read still succeeds promptly', async () => {
    const gcs = await startFakeGcs();
    let running = true;
    try {
      const { logger, warnings } = warningLog();
      const c = await setup({ objects: 'gcs', gcsEndpoint: gcs.endpoint, logger });
      // A real PNG: bytes that are not their declared type are (rightly) logged as undecodable.
      const done = await upload(
        c,
        c.a.auth,
        { _filename: 'done.png' },
        makePng(4, 4, () => [10, 20, 30]),
      );
      // Metadata only: the upload is pending, so every read asks the storage whether bytes arrived.
      const pending = (
        await request(c.t.app)
          .post(`/blob/${c.t.appKey}`)
          .set('Authorization', c.a.auth)
          .send({ _filename: 'pending.png', mimeType: 'image/png', size: 10 })
          .expect(201)
      ).body._id as string;
      await save(c, c.a.auth, 'things', { _id: 't1', done: ref(done), pending: ref(pending) }).expect(201);
      expect((await get(c, c.a.auth, 'things/t1').expect(200)).body.pending._uploadState.status).toBe('pending');
      expect(warnings).toEqual([]);

      await gcs.stop();
      running = false;
      // The read does not wait for the storage: the check either fails or is cut off after
      // REFERENCE_REFRESH_BUDGET_MS, and each way is logged. (No duration asserted; jest's timeout
      // catches a read that hangs.)
      const res = await get(c, c.a.auth, 'things/t1').expect(200);
      expect(res.body.pending).toMatchObject({
        _type: 'KinveyFile',
        _id: pending,
        _filename: 'pending.png',
        _uploadState: { status: 'pending' },
      });
      expect(new URL(res.body.pending._downloadURL as string).searchParams.get('X-Goog-Algorithm')).toBe(
        'GOOG4-RSA-SHA256',
      );
      expect(res.body.done).toMatchObject({ _id: done, _filename: 'done.png', _uploadState: { status: 'complete' } });
      expect(warnings.filter((msg) => msg.includes('pending upload'))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^checking a pending upload (failed|takes over ${REFERENCE_REFRESH_BUDGET_MS} ms); references show the stored record$`,
          ),
        ),
      ]);
    } finally {
      if (running) await gcs.stop();
    }
  });
});

describe('KinveyFile references whose download link cannot be issued', () => {
  test('stay bare while the rest of the read resolves (credentials that cannot sign URLs)', async () => {
    // An authorized-user credential has no private key: the library's signing fails at once.
    const credentialsDir = makeTempDir('kinbase-user-cred-');
    scratch.push(credentialsDir);
    const keyFile = path.join(credentialsDir, 'credentials.json');
    await writeFile(
      keyFile,
      JSON.stringify({
        type: 'authorized_user',
        client_id: 'kinbase-test',
        client_secret: 'not-a-secret',
        refresh_token: 'not-a-token',
      }),
    );
    const { logger, warnings } = warningLog();
    const c = await setup({ objects: 'gcs', gcsKeyFile: keyFile, logger });
    const now = new Date().toISOString();
    const record = (id: string, isPublic: boolean) => ({
      _id: id,
      _filename: `${id}.png`,
      mimeType: 'image/png',
      size: 1,
      _public: isPublic,
      _acl: { creator: c.a.id },
      _kmd: { ect: now, lmt: now },
      _uploadState: { status: 'complete', bytesReceived: 1, md5: 'x' },
    });
    await c.t.documents.insert({ appKey: c.t.appKey, collection: '_blob' }, record('private-file', false));
    await c.t.documents.insert({ appKey: c.t.appKey, collection: '_blob' }, record('public-file', true));
    await save(c, c.a.auth, 'things', { _id: 't1', priv: ref('private-file'), pub: ref('public-file') }).expect(201);

    const res = await get(c, c.a.auth, 'things/t1').expect(200);
    expect(res.body.priv).toEqual(ref('private-file'));
    // A public file needs no signature: its permanent URL still resolves.
    expect(res.body.pub).toMatchObject({
      _id: 'public-file',
      _filename: 'public-file.png',
      _downloadURL: expect.stringContaining(c.t.appKey),
    });
    expect(res.body.pub._downloadURL).not.toContain('X-Goog-Signature');
    expect(warnings.some((msg) => msg.includes('download link'))).toBe(true);
  });
});
