/**
 * The Files API metadata routes as a table of scenarios (request -> expected response), on both
 * document stores. Read scenarios share one seeded app; each write scenario works on a file seeded
 * just for it (its id is {target}), so nothing depends on order. Byte transfers through the
 * returned URLs are covered in files.flow.test.ts.
 */
import request from 'supertest';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp } from '../support/test-app';

const OID = '507f1f77bcf86cd799439011';
const TWELVE = 'abcdefghijkl';
const PATHLIKE = '../../etc/passwd\u0001/x';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Seeded files: who created them and with which metadata. */
const FILES: { by: string; body: Record<string, unknown> }[] = [
  { by: 'alice', body: { _id: 'f-private', _filename: 'a.txt', mimeType: 'text/plain', size: 3, kind: 'doc' } },
  {
    by: 'alice',
    body: { _id: 'f-gr', _filename: 'b.png', mimeType: 'image/png', size: 4, _acl: { gr: true }, kind: 'img' },
  },
  {
    by: 'alice',
    body: { _id: 'f-r-bob', _filename: 'c.png', mimeType: 'image/png', _acl: { r: ['{bob}'] }, kind: 'img' },
  },
  { by: 'alice', body: { _id: 'f-public', _filename: 'p.jpg', mimeType: 'image/jpeg', _public: true, kind: 'img' } },
  { by: 'master', body: { _id: OID, _filename: 'm.bin', kind: 'doc' } },
  { by: 'bob', body: { _id: TWELVE, _filename: 'bob.txt', mimeType: 'text/plain', kind: 'doc' } },
];

/** An ISO time about `seconds` from now; `slack` allows a later expiry (download links may be quantised upwards). */
const isoNear =
  (seconds: number, slack = 0) =>
  (value: unknown) => {
    const delta = Date.parse(String(value)) - Date.now();
    expect(delta).toBeGreaterThan((seconds - 5) * 1000);
    expect(delta).toBeLessThanOrEqual((seconds + slack) * 1000 + 1000);
  };
/** Download links never expire early, and at most a tenth of the TTL (max 5 min) late. */
const linkExpiresIn = (seconds: number) => isoNear(seconds, Math.min(Math.max(seconds / 10, 1), 300));

const get = (
  name: string,
  as: string,
  path: string,
  expectation: Scenario['expect'],
  query?: Record<string, unknown>,
): Scenario => ({
  name,
  as,
  method: 'get',
  path,
  ...(query ? { query } : {}),
  expect: expectation,
});

const READS: Scenario[] = [
  get('the creator reads a private file with a signed, expiring download URL', 'alice', '/blob/{app}/f-private', {
    status: 200,
    check: (body, ctx) => {
      expect(body).toMatchObject({
        _id: 'f-private',
        _filename: 'a.txt',
        mimeType: 'text/plain',
        size: 3,
        kind: 'doc',
        _public: false,
        _acl: { creator: ctx.userIds.alice },
        _downloadURL: expect.stringContaining(`${ctx.t.baseUrl}/storage/download/`),
      });
      linkExpiresIn(3600)((body as { _expiresAt: string })._expiresAt);
      expect(body).not.toHaveProperty('_kinbaseUpload');
      expect(body).not.toHaveProperty('_uploadURL');
      expect((body as { _uploadState: unknown })._uploadState).toEqual({
        status: 'pending',
        bytesReceived: 0,
        md5: null,
      });
    },
  }),
  get('another user reading a private file gets 401 InsufficientCredentials', 'bob', '/blob/{app}/f-private', {
    status: 401,
    error: 'InsufficientCredentials',
  }),
  get('gr: true lets every user read', 'bob', '/blob/{app}/f-gr', {
    status: 200,
    check: (b) => expect(b).toMatchObject({ _id: 'f-gr', _downloadURL: expect.any(String) }),
  }),
  get('an _acl.r entry lets that user read', 'bob', '/blob/{app}/f-r-bob', { status: 200 }),
  get('master reads every file', 'master', '/blob/{app}/f-private', { status: 200 }),
  get('app credentials are refused with 401 InsufficientCredentials', 'app', '/blob/{app}/f-gr', {
    status: 401,
    error: 'InsufficientCredentials',
  }),
  get('no credentials is 401 InvalidCredentials', 'none', '/blob/{app}/f-gr', {
    status: 401,
    error: 'InvalidCredentials',
  }),
  get('a public file has a permanent URL and no _expiresAt', 'alice', '/blob/{app}/f-public', {
    status: 200,
    check: (body, ctx) => {
      expect(body).toMatchObject({
        _public: true,
        _downloadURL: expect.stringContaining(`${ctx.t.baseUrl}/storage/public/`),
      });
      expect(body).not.toHaveProperty('_expiresAt');
    },
  }),
  get('_public does not open the metadata to other users of a private _blob', 'bob', '/blob/{app}/f-public', {
    status: 401,
    error: 'InsufficientCredentials',
  }),
  get(
    'ttl_in_seconds sets _expiresAt',
    'alice',
    '/blob/{app}/f-private',
    { status: 200, check: (b) => linkExpiresIn(60)((b as { _expiresAt: string })._expiresAt) },
    { ttl_in_seconds: '60' },
  ),
  get(
    'ttl_in_seconds 0 is 400 ParameterValueOutOfRange',
    'alice',
    '/blob/{app}/f-private',
    { status: 400, error: 'ParameterValueOutOfRange' },
    { ttl_in_seconds: '0' },
  ),
  get(
    'ttl_in_seconds over 7 days is 400 ParameterValueOutOfRange',
    'alice',
    '/blob/{app}/f-private',
    { status: 400, error: 'ParameterValueOutOfRange' },
    { ttl_in_seconds: '604801' },
  ),
  get(
    'ttl_in_seconds of exactly 7 days is accepted',
    'alice',
    '/blob/{app}/f-private',
    { status: 200 },
    { ttl_in_seconds: '604800' },
  ),
  get(
    'tls=true on an http-only local backend gives the http URL it can serve',
    'alice',
    '/blob/{app}/f-private',
    { status: 200, check: (b) => expect((b as { _downloadURL: string })._downloadURL).toMatch(/^http:\/\//) },
    { tls: 'true' },
  ),
  get(
    'tls=false gives an http URL',
    'alice',
    '/blob/{app}/f-public',
    { status: 200, check: (b) => expect((b as { _downloadURL: string })._downloadURL).toMatch(/^http:\/\//) },
    { tls: 'false' },
  ),
  get('an unknown id is 404 BlobNotFound', 'alice', '/blob/{app}/nope', { status: 404, error: 'BlobNotFound' }),
  get('a 24-hex id is read back as a string', 'master', `/blob/{app}/${OID}`, {
    status: 200,
    check: (b) => expect(b).toMatchObject({ _id: OID }),
  }),
  get('a 12-character id is read back as a string', 'bob', `/blob/{app}/${TWELVE}`, {
    status: 200,
    check: (b) => expect(b).toMatchObject({ _id: TWELVE }),
  }),
  get('a user lists only the files they may read, each with a _downloadURL', 'bob', '/blob/{app}', {
    status: 200,
    ids: [TWELVE, 'f-gr', 'f-r-bob'],
    check: (body) =>
      (body as { _downloadURL?: string }[]).forEach((f) => expect(f._downloadURL).toEqual(expect.any(String))),
  }),
  get('the trailing slash of the JS SDK is tolerated', 'bob', '/blob/{app}/', {
    status: 200,
    ids: [TWELVE, 'f-gr', 'f-r-bob'],
  }),
  get('master lists every file', 'master', '/blob/{app}/', {
    status: 200,
    ids: [OID, TWELVE, 'f-gr', 'f-private', 'f-public', 'f-r-bob'],
  }),
  get(
    'query, sort, skip and limit apply',
    'alice',
    '/blob/{app}/',
    { status: 200, ids: ['f-public', 'f-r-bob'] },
    { query: { kind: 'img' }, sort: { _filename: -1 }, limit: '2' },
  ),
  get(
    'skip pages on',
    'alice',
    '/blob/{app}/',
    { status: 200, ids: ['f-gr'] },
    { query: { kind: 'img' }, sort: { _filename: -1 }, skip: '2' },
  ),
  get(
    'fields keeps _id, the named fields and the link',
    'alice',
    '/blob/{app}/',
    {
      status: 200,
      check: (body) =>
        expect(body).toEqual([
          { _id: 'f-gr', _filename: 'b.png', _downloadURL: expect.any(String), _expiresAt: expect.any(String) },
        ]),
    },
    { query: { _id: 'f-gr' }, fields: '_filename' },
  ),
  get(
    'the upload state can be queried',
    'master',
    '/blob/{app}/',
    { status: 200, ids: [OID, TWELVE, 'f-gr', 'f-private', 'f-public', 'f-r-bob'] },
    { query: { '_uploadState.status': 'pending' } },
  ),
  get(
    'the internal upload field cannot be queried (it holds the upload URL)',
    'alice',
    '/blob/{app}/',
    { status: 400, error: 'InvalidQuerySyntax' },
    { query: { '_kinbaseUpload.url': { $regex: '^http' } } },
  ),
  get(
    'the internal upload field cannot be selected',
    'alice',
    '/blob/{app}/',
    { status: 400, error: 'InvalidQuerySyntax' },
    { fields: '_kinbaseUpload' },
  ),
  get(
    'a bad ttl on a list is 400 too',
    'alice',
    '/blob/{app}/',
    { status: 400, error: 'ParameterValueOutOfRange' },
    { ttl_in_seconds: 'abc' },
  ),
];

const post = (
  name: string,
  as: string,
  body: unknown,
  expectation: Scenario['expect'],
  headers?: Record<string, string>,
): Scenario => ({
  name,
  as,
  method: 'post',
  path: '/blob/{app}',
  body,
  ...(headers ? { headers } : {}),
  expect: expectation,
});

/** Write scenarios: {target} is a private file of alice's seeded for each scenario. */
const WRITES: Scenario[] = [
  post(
    'POST answers 201 with the metadata, a server id, the ACL, _kmd and the upload instructions',
    'alice',
    { _filename: 'n.png', mimeType: 'image/png', size: 70, _public: false, tag: 'x' },
    {
      status: 201,
      headers: { location: /^\/blob\/kid_[0-9a-f]+\/[0-9a-f-]{36}$/ },
      check: (body, ctx) => {
        expect(body).toMatchObject({
          _id: expect.stringMatching(UUID),
          _filename: 'n.png',
          mimeType: 'image/png',
          size: 70,
          _public: false,
          tag: 'x',
          _acl: { creator: ctx.userIds.alice },
          _kmd: { lmt: expect.stringMatching(/Z$/), ect: expect.stringMatching(/Z$/) },
          _uploadURL: expect.stringMatching(new RegExp(`^${ctx.t.baseUrl}/storage/upload/`)),
          _requiredHeaders: { 'Content-Type': 'image/png' },
          _uploadState: { status: 'pending', bytesReceived: 0, md5: null },
        });
        isoNear(30)((body as { _expiresAt: string })._expiresAt);
        expect(body).not.toHaveProperty('_kinbaseUpload');
      },
    },
    { 'X-Kinvey-Content-Type': 'image/png' },
  ),
  post(
    'without _filename the filename is a UUID; mimeType defaults to X-Kinvey-Content-Type',
    'alice',
    {},
    {
      status: 201,
      check: (b) =>
        expect(b).toMatchObject({ _filename: expect.stringMatching(UUID), mimeType: 'image/gif', _public: false }),
    },
    { 'X-Kinvey-Content-Type': 'image/gif' },
  ),
  post(
    'without any type the mimeType is application/octet-stream',
    'bob',
    { _filename: 'x' },
    { status: 201, check: (b) => expect(b).toMatchObject({ mimeType: 'application/octet-stream' }) },
  ),
  post(
    'a client _id of 24 hex characters stays a string',
    'alice',
    { _id: '5f1f77bcf86cd79943901100' },
    { status: 201, check: (b) => expect(b).toMatchObject({ _id: '5f1f77bcf86cd79943901100' }) },
  ),
  post(
    'a path-like _id with control characters is kept as given',
    'alice',
    { _id: PATHLIKE },
    { status: 201, check: (b) => expect(b).toMatchObject({ _id: PATHLIKE }) },
  ),
  post(
    'a client _creator in _acl is ignored',
    'alice',
    { _acl: { creator: 'mallory', gr: true } },
    { status: 201, check: (b, ctx) => expect(b).toMatchObject({ _acl: { creator: ctx.userIds.alice, gr: true } }) },
  ),
  post(
    'server-owned fields in the body are ignored',
    'alice',
    { _uploadState: { status: 'complete' }, _kinbaseUpload: { url: 'x' }, _downloadURL: 'http://evil' },
    {
      status: 201,
      check: (b) => {
        expect(b).toMatchObject({ _uploadState: { status: 'pending' } });
        expect(b).not.toHaveProperty('_downloadURL');
      },
    },
  ),
  post(
    'POST with an existing _id is 409 EntityAlreadyExists',
    'alice',
    { _id: 'f-private' },
    { status: 409, error: 'EntityAlreadyExists' },
  ),
  post('_public must be a boolean', 'alice', { _public: 'yes' }, { status: 400, error: 'BadRequest' }),
  post('size must be a non-negative integer', 'alice', { size: -1 }, { status: 400, error: 'BadRequest' }),
  post(
    'a malformed content type is 400',
    'alice',
    {},
    { status: 400, error: 'BadRequest' },
    { 'X-Kinvey-Content-Type': 'not a content type' },
  ),
  post('app credentials cannot create files', 'app', {}, { status: 401, error: 'InsufficientCredentials' }),
  post(
    'master creates files; the creator is the app',
    'master',
    {},
    { status: 201, check: (b, ctx) => expect(b).toMatchObject({ _acl: { creator: ctx.t.appKey } }) },
  ),
  {
    name: 'PUT of an existing file answers 200 with a fresh upload URL, keeping creator and ect',
    as: 'alice',
    method: 'put',
    path: '/blob/{app}/{target}',
    body: { _filename: 'renamed.txt', mimeType: 'text/plain' },
    expect: {
      status: 200,
      check: (b, ctx) =>
        expect(b).toMatchObject({
          _id: ctx.vars.target,
          _filename: 'renamed.txt',
          _acl: { creator: ctx.userIds.alice },
          _uploadURL: expect.any(String),
          _uploadState: { status: 'pending' },
        }),
    },
  },
  {
    name: 'PUT of an unknown id creates it: 201',
    as: 'bob',
    method: 'put',
    path: '/blob/{app}/brand-new',
    body: { _filename: 'n' },
    expect: {
      status: 201,
      headers: { location: /\/brand-new$/ },
      check: (b, ctx) => expect(b).toMatchObject({ _id: 'brand-new', _acl: { creator: ctx.userIds.bob } }),
    },
  },
  {
    name: 'PUT by a user without write access is 401',
    as: 'bob',
    method: 'put',
    path: '/blob/{app}/{target}',
    body: {},
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'DELETE answers {count: 1}',
    as: 'alice',
    method: 'delete',
    path: '/blob/{app}/{target}',
    expect: { status: 200, count: 1 },
  },
  {
    name: 'DELETE by another user is 401',
    as: 'bob',
    method: 'delete',
    path: '/blob/{app}/{target}',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'DELETE of an unknown id is 404 BlobNotFound',
    as: 'alice',
    method: 'delete',
    path: '/blob/{app}/nope',
    expect: { status: 404, error: 'BlobNotFound' },
  },
];

describe.each(DOCUMENT_STORES)('Files API on the %s document store', (documents) => {
  let ctx: ScenarioContext;
  let n = 0;

  beforeAll(async () => {
    const t = await startTestApp({ documents });
    const alice = await createUser(t, 'alice');
    const bob = await createUser(t, 'bob');
    ctx = {
      t,
      auth: { alice: alice.auth, bob: bob.auth, master: t.masterAuth, app: t.appAuth },
      userIds: { alice: alice.id, bob: bob.id },
      vars: {},
    };
    for (const file of FILES) {
      const body = JSON.parse(JSON.stringify(file.body).replace('{bob}', bob.id)) as Record<string, unknown>;
      const res = await request(t.app)
        .post(`/blob/${t.appKey}`)
        .set('Authorization', ctx.auth[file.by] as string)
        .send(body);
      if (res.status !== 201)
        throw new Error(`seeding ${String(file.body._id)} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
  });
  afterAll(() => ctx?.t.close());

  test.each(READS.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    await runScenario(scenario, ctx);
  });

  test.each(WRITES.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const target = `w-${++n}`;
    await request(ctx.t.app)
      .post(`/blob/${ctx.t.appKey}`)
      .set('Authorization', ctx.auth.alice as string)
      .send({ _id: target, _filename: 'w.txt' })
      .expect(201);
    await runScenario(scenario, { ...ctx, vars: { target } });
  });

  test('a path-like id is read and deleted through its URL-encoded path', async () => {
    const auth = ctx.auth.alice as string;
    const id = `../${PATHLIKE}-${++n}`;
    await request(ctx.t.app).post(`/blob/${ctx.t.appKey}`).set('Authorization', auth).send({ _id: id }).expect(201);
    const read = await request(ctx.t.app)
      .get(`/blob/${ctx.t.appKey}/${encodeURIComponent(id)}`)
      .set('Authorization', auth)
      .expect(200);
    expect(read.body._id).toBe(id);
    // The storage key is a hash and a generation: nothing of the id reaches a path.
    expect(read.body._downloadURL).toMatch(
      new RegExp(`/storage/download/${ctx.t.appKey}/f/[0-9a-f]{64}/[A-Za-z0-9_-]{22}\\?`),
    );
    await request(ctx.t.app)
      .delete(`/blob/${ctx.t.appKey}/${encodeURIComponent(id)}`)
      .set('Authorization', auth)
      .expect(200, { count: 1 });
  });
});

describe('_blob permissions configured by the app', () => {
  test('with _blob shared, every user reads every file but writes only their own', async () => {
    const t = await startTestApp({ collections: { _blob: { permissions: 'shared' } } });
    try {
      const alice = await createUser(t, 'alice');
      const bob = await createUser(t, 'bob');
      await request(t.app).post(`/blob/${t.appKey}`).set('Authorization', alice.auth).send({ _id: 'f1' }).expect(201);
      await request(t.app).get(`/blob/${t.appKey}/f1`).set('Authorization', bob.auth).expect(200);
      const list = await request(t.app).get(`/blob/${t.appKey}`).set('Authorization', bob.auth).expect(200);
      expect(list.body.map((f: { _id: string }) => f._id)).toEqual(['f1']);
      await request(t.app).delete(`/blob/${t.appKey}/f1`).set('Authorization', bob.auth).expect(401);
    } finally {
      await t.close();
    }
  });
});
