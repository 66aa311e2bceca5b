/**
 * The management API (/admin/:appKey/...) and the master's group list (GET /group/:appKey): what
 * master sees, and that nobody else sees anything (app secrets, user sessions, other apps).
 */
import { MemorySharedState } from '../../src/domain/memory-shared-state';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { buildRuntime, type Runtime } from '../../src/runtime';
import { AppRegistry } from '../../src/domain/apps/app-registry';
import { errors } from '../../src/domain/errors';
import {
  RECENT_ERROR_TEXT_LIMIT,
  RECENT_ERRORS_PER_APP,
  RecentBusinessLogicErrors,
} from '../../src/business-logic/recent-errors';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { basic, DOCUMENT_STORES, startTestApp, uniqueKey, type DocumentsKind, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const internal = (code: string) => ({ type: 'internal', code });
const external = (handlerName: string) => ({
  type: 'external',
  service: 'catalog',
  serviceEnvironment: 'development',
  handlerName,
});
const FLEX = { catalog: { host: 'http://flexuser:flexpass@127.0.0.1:9', secret: 'flex-shared-secret' } };
const HOOK_CODE =
  "function onPreSave(request, response, modules) { throw new Error('the shelf is full ' + 'x'.repeat(5000)); }";

/** An environment file with a failing internal hook, an external hook, endpoints, an external collection and a user hook. */
function writeEnvironment(dir: string): string {
  const file = path.join(dir, 'env.json');
  writeFileSync(
    file,
    JSON.stringify({
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: {
        books: { type: 'internal', permissions: 'read-only' },
        widgets: { type: 'external', permissions: 'shared', service: 'catalog', serviceObject: 'widgets' },
      },
      collectionHooks: {
        books: { onPreSave: internal(HOOK_CODE) },
        gadgets: { onPreFetch: external('fetchGadgets') },
        user: { onPreSave: internal('function onPreSave(request, response) { response.continue(); }') },
      },
      customEndpoints: {
        boom: internal('function onRequest(request, response, modules) { null.x; }'),
        flexEcho: external('echo'),
        nightly: {
          ...internal('function onRequest(request, response) { response.complete(200); }'),
          schedule: { start: '2030-01-01T00:00:00Z', interval: 'daily' },
        },
      },
    }),
  );
  return file;
}

const get = (t: TestApp, url: string, auth: string = t.masterAuth) =>
  request(t.app).get(url).set('Authorization', auth);

describe.each(DOCUMENT_STORES)('GET /admin/:appKey/collections on the %s store', (kind: DocumentsKind) => {
  let dir: string;
  let t: TestApp;
  beforeAll(async () => {
    dir = makeTempDir('kinbase-admin-');
    const collections = {
      notes: { permissions: 'private' as const, deltaSet: true, indexes: ['title'] },
      planned: { permissions: 'read-only' as const },
    };
    t = await startTestApp({
      documents: kind,
      collections,
      environment: { file: writeEnvironment(dir), flexServices: FLEX },
    });
  });
  afterAll(async () => {
    await t?.close();
    if (dir) removeTempDir(dir);
  });

  test('stored and configured collections, sorted, with counts and settings; no internal collection leaks', async () => {
    const alice = await createUser(t, 'alice');
    await request(t.app)
      .post(`/group/${t.appKey}`)
      .set('Authorization', alice.auth)
      .send({ users: { all: true } })
      .expect(201);
    for (const title of ['a', 'b'])
      await request(t.app)
        .post(`/appdata/${t.appKey}/notes`)
        .set('Authorization', alice.auth)
        .send({ title })
        .expect(201);
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', t.masterAuth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .send({ title: 'kept' })
      .expect(201);
    // Names only the store knows, some of them Object.prototype's.
    for (const collection of ['constructor', 'toString', 'loose'])
      await t.documents.insert({ appKey: t.appKey, collection }, { _id: 'x' });

    const res = await get(t, `/admin/${t.appKey}/collections`).expect(200);
    const entry = (name: string, extra: Record<string, unknown>) => ({
      name,
      permissions: 'shared',
      count: 0,
      deltaSet: false,
      indexes: [],
      external: false,
      hooks: [],
      ...extra,
    });
    expect(res.body).toEqual([
      entry('books', { permissions: 'read-only', count: 1, hooks: ['onPreSave'] }),
      entry('constructor', { count: 1 }),
      entry('gadgets', { hooks: ['onPreFetch'] }),
      entry('loose', { count: 1 }),
      entry('notes', { permissions: 'private', count: 2, deltaSet: true, indexes: ['title'] }),
      entry('planned', { permissions: 'read-only' }),
      entry('toString', { count: 1 }),
      entry('widgets', { count: null, external: true }),
    ]);
  });
});

describe('the management API of one app', () => {
  let dir: string;
  let t: TestApp;
  let alice: { id: string; auth: string };
  beforeAll(async () => {
    dir = makeTempDir('kinbase-admin-');
    t = await startTestApp({ environment: { file: writeEnvironment(dir), flexServices: FLEX } });
    alice = await createUser(t, 'alice');
  });
  afterAll(async () => {
    await t?.close();
    if (dir) removeTempDir(dir);
  });

  test('GET /admin/:appKey/server describes the backends and limits, and no secret', async () => {
    const res = await get(t, `/admin/${t.appKey}/server`).expect(200);
    expect(res.body).toEqual({
      version: expect.any(String),
      appName: 'Test App',
      documents: { kind: 'embedded' },
      storage: { kind: 'local' },
      publicUrl: t.config.publicUrl,
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      uptimeSeconds: expect.any(Number),
      limits: {
        bodyLimit: t.config.bodyLimit,
        uploadUrlTtlSeconds: t.config.uploadUrlTtlSeconds,
        downloadUrlTtlSeconds: t.config.downloadUrlTtlSeconds,
        pendingUploadTtlSeconds: t.config.pendingUploadTtlSeconds,
      },
      metrics: { path: '/metrics' },
    });
    for (const secret of [t.masterSecret, t.appSecret, t.config.dataDir])
      expect(JSON.stringify(res.body)).not.toContain(secret);
  });

  test('GET /admin/:appKey/business-logic lists hooks, endpoints, external collections and Flex services without code or secrets', async () => {
    const res = await get(t, `/admin/${t.appKey}/business-logic`).expect(200);
    expect(res.body).toMatchObject({
      configured: true,
      collectionHooks: [
        { collection: 'books', hook: 'onPreSave', type: 'internal', origin: 'collectionHooks.books.onPreSave' },
        {
          collection: 'gadgets',
          hook: 'onPreFetch',
          type: 'external',
          service: 'catalog',
          handlerName: 'fetchGadgets',
        },
        { collection: 'user', hook: 'onPreSave', type: 'internal' },
      ],
      customEndpoints: [
        { name: 'boom', type: 'internal' },
        { name: 'flexEcho', type: 'external', service: 'catalog', handlerName: 'echo' },
        { name: 'nightly', type: 'internal', schedule: { start: '2030-01-01T00:00:00.000Z', intervalSeconds: 86400 } },
      ],
      externalCollections: [{ collection: 'widgets', service: 'catalog', serviceObject: 'widgets' }],
      flexServices: [{ name: 'catalog', host: 'http://127.0.0.1:9' }],
    });
    expect(res.body.customEndpoints[0]).not.toHaveProperty('schedule');
    const text = JSON.stringify(res.body);
    for (const leak of ['flex-shared-secret', 'flexpass', 'shelf is full', 'function on', 'null.x'])
      expect(text).not.toContain(leak);
  });

  test('a failing internal hook and endpoint appear in recentErrors, newest first, capped in length', async () => {
    const hook = await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', alice.auth)
      .send({ title: 'rejected' });
    expect(hook.status).toBe(550);
    expect(hook.body.error).toBe('BLRuntimeError');
    await request(t.app).post(`/rpc/${t.appKey}/custom/boom`).set('Authorization', alice.auth).send({}).expect(550);

    const { body } = await get(t, `/admin/${t.appKey}/business-logic`).expect(200);
    const [endpoint, failed] = body.recentErrors;
    expect(endpoint).toEqual({
      at: expect.any(String),
      kind: 'endpoint',
      name: 'boom',
      error: 'BLRuntimeError',
      description: errors.blRuntimeError().description,
      debug: expect.stringContaining('TypeError'),
    });
    expect(failed).toEqual({
      at: expect.any(String),
      kind: 'hook',
      name: 'onPreSave',
      collection: 'books',
      error: 'BLRuntimeError',
      description: expect.any(String),
      debug: expect.stringContaining('the shelf is full'),
    });
    expect(failed.debug.length).toBeLessThanOrEqual(RECENT_ERROR_TEXT_LIMIT);
    expect(Date.parse(endpoint.at)).toBeGreaterThanOrEqual(Date.parse(failed.at));
  });

  test('an app without Business Logic reports it as not configured', async () => {
    const plain = await startTestApp();
    try {
      const res = await get(plain, `/admin/${plain.appKey}/business-logic`).expect(200);
      expect(res.body).toEqual({
        configured: false,
        collectionHooks: [],
        customEndpoints: [],
        externalCollections: [],
        flexServices: [],
        recentErrors: [],
      });
    } finally {
      await plain.close();
    }
  });

  describe.each(['collections', 'server', 'business-logic'])('who may call /admin/:appKey/%s', (route) => {
    const ctx = (): ScenarioContext => ({
      t,
      auth: { master: t.masterAuth, app: t.appAuth, alice: alice.auth },
      userIds: {},
      vars: {},
    });
    const scenarios: Scenario[] = [
      {
        name: 'master credentials: 200',
        as: 'master',
        method: 'get',
        path: `/admin/{app}/${route}`,
        expect: { status: 200 },
      },
      {
        name: 'the app secret: 401 InsufficientCredentials',
        as: 'app',
        method: 'get',
        path: `/admin/{app}/${route}`,
        expect: { status: 401, error: 'InsufficientCredentials' },
      },
      {
        name: 'a user session: 401 InsufficientCredentials',
        as: 'alice',
        method: 'get',
        path: `/admin/{app}/${route}`,
        expect: { status: 401, error: 'InsufficientCredentials' },
      },
      {
        name: 'no credentials: 401 InvalidCredentials',
        as: 'none',
        method: 'get',
        path: `/admin/{app}/${route}`,
        expect: { status: 401, error: 'InvalidCredentials' },
      },
      {
        name: 'a wrong master secret: 401 InvalidCredentials',
        as: 'wrong',
        method: 'get',
        path: `/admin/{app}/${route}`,
        expect: { status: 401, error: 'InvalidCredentials' },
      },
      {
        name: 'an unknown app key: 404 AppNotFound',
        as: 'master',
        method: 'get',
        path: `/admin/kid_unknown/${route}`,
        expect: { status: 404, error: 'AppNotFound' },
      },
    ];
    test.each(scenarios)('$name', async (scenario) => {
      const c = ctx();
      c.auth.wrong = basic(t.appKey, 'not-the-master-secret');
      await runScenario(scenario, c);
    });
  });
});

describe('another app on the same store', () => {
  test('its collections never appear, and its master credentials open nothing of this app', async () => {
    const t = await startTestApp();
    let otherRuntime: Runtime | undefined;
    try {
      const other = {
        appKey: uniqueKey(),
        appSecret: randomBytes(12).toString('hex'),
        masterSecret: randomBytes(12).toString('hex'),
        name: 'Other',
        collections: {},
      };
      otherRuntime = buildRuntime({
        config: t.config,
        apps: new AppRegistry([other]),
        documents: t.documents,
        objects: { store: t.objects },
        logger: pino({ level: 'silent' }),
      });
      const otherApp = createApp(otherRuntime);
      const otherMaster = basic(other.appKey, other.masterSecret);
      await request(otherApp)
        .post(`/appdata/${other.appKey}/theirs`)
        .set('Authorization', otherMaster)
        .send({ secret: 1 })
        .expect(201);
      await request(t.app)
        .post(`/appdata/${t.appKey}/ours`)
        .set('Authorization', t.masterAuth)
        .send({ v: 1 })
        .expect(201);

      const ours = await get(t, `/admin/${t.appKey}/collections`).expect(200);
      expect(ours.body.map((c: { name: string }) => c.name)).toEqual(['ours']);
      const theirs = await request(otherApp)
        .get(`/admin/${other.appKey}/collections`)
        .set('Authorization', otherMaster)
        .expect(200);
      expect(theirs.body.map((c: { name: string }) => c.name)).toEqual(['theirs']);
      // The other app's master secret is not this app's: wrong credentials here.
      const crossed = await get(t, `/admin/${t.appKey}/collections`, basic(t.appKey, other.masterSecret));
      expect(crossed.status).toBe(401);
      expect(crossed.body.error).toBe('InvalidCredentials');
    } finally {
      // The stores are shared: closing them a second time is a no-op.
      await t.close();
      await otherRuntime?.close();
    }
  });
});

describe.each(DOCUMENT_STORES)('GET /group/:appKey on the %s store', (kind: DocumentsKind) => {
  let t: TestApp;
  let ctx: ScenarioContext;
  beforeAll(async () => {
    t = await startTestApp({ documents: kind });
    const alice = await createUser(t, 'alice');
    for (const _id of ['g3', 'g1', 'g5', 'g2', 'g4'])
      await request(t.app)
        .post(`/group/${t.appKey}`)
        .set('Authorization', t.masterAuth)
        .send({ _id, name: _id })
        .expect(201);
    const own = await request(t.app)
      .post(`/group/${t.appKey}`)
      .set('Authorization', alice.auth)
      .send({ users: { all: true } })
      .expect(201);
    ctx = {
      t,
      auth: { master: t.masterAuth, app: t.appAuth, alice: alice.auth },
      userIds: { alice: alice.id },
      vars: { own: own.body._id as string },
    };
  });
  afterAll(() => t?.close());

  // alice's group has a server-assigned hex id, which sorts before the g's.
  const allIds = (c: ScenarioContext) => [c.vars.own as string, 'g1', 'g2', 'g3', 'g4', 'g5'];
  const idsOf = (b: unknown) => (b as { _id: string }[]).map((g) => g._id);
  const scenarios: Scenario[] = [
    {
      name: 'master lists every group in _id order',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      expect: { status: 200, check: (b, c) => expect(idsOf(b)).toEqual(allIds(c)) },
    },
    {
      name: 'limit and skip page through them',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { limit: '2', skip: '2' },
      expect: { status: 200, ids: ['g2', 'g3'] },
    },
    {
      name: 'skip past the end is an empty page',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { skip: '100' },
      expect: { status: 200, ids: [] },
    },
    {
      name: 'limit 1000 is allowed',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { limit: '1000' },
      expect: { status: 200 },
    },
    {
      name: 'limit 0 is 400',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { limit: '0' },
      expect: { status: 400, error: 'ParameterValueOutOfRange' },
    },
    {
      name: 'limit above 1000 is 400',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { limit: '1001' },
      expect: { status: 400, error: 'ParameterValueOutOfRange' },
    },
    {
      name: 'a non-numeric limit is 400',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { limit: '1e2' },
      expect: { status: 400, error: 'ParameterValueOutOfRange' },
    },
    {
      name: 'a negative skip is 400',
      as: 'master',
      method: 'get',
      path: '/group/{app}',
      query: { skip: '-1' },
      expect: { status: 400, error: 'ParameterValueOutOfRange' },
    },
    {
      name: 'a user, even a group creator, may not list groups',
      as: 'alice',
      method: 'get',
      path: '/group/{app}',
      expect: { status: 401, error: 'InsufficientCredentials' },
    },
    {
      name: 'the app secret may not list groups',
      as: 'app',
      method: 'get',
      path: '/group/{app}',
      expect: { status: 401, error: 'InsufficientCredentials' },
    },
  ];
  test.each(scenarios)('$name', (scenario) => runScenario(scenario, ctx).then(() => undefined));

  test('a repeated limit is 400', async () => {
    const res = await get(t, `/group/${t.appKey}?limit=1&limit=2`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('ParameterValueOutOfRange');
  });

  test('listed groups look exactly as GET /group/:appKey/:id shows them', async () => {
    const list = await get(t, `/group/${t.appKey}`).query({ limit: '1', skip: '1' }).expect(200);
    const one = await get(t, `/group/${t.appKey}/g1`).expect(200);
    expect(list.body).toEqual([one.body]);
    expect(one.body).toMatchObject({
      _id: 'g1',
      name: 'g1',
      users: { all: false, list: [] },
      groups: [],
      _acl: { creator: t.appKey },
      _kmd: { lmt: expect.any(String) },
    });
  });
});

describe('RecentBusinessLogicErrors', () => {
  test(`keeps the last ${RECENT_ERRORS_PER_APP} failures per app, newest first, each string capped`, async () => {
    const recent = new RecentBusinessLogicErrors(new MemorySharedState());
    for (let i = 0; i < RECENT_ERRORS_PER_APP + 10; i++)
      recent.record('a', {
        kind: 'hook',
        name: `n${i}`,
        collection: 'c',
        error: errors.blTimeoutError('d'.repeat(10_000)),
      });
    recent.record('b', { kind: 'endpoint', name: 'e', error: new Error('not a Kinvey error') });
    const kept = await recent.of('a');
    expect(kept).toHaveLength(RECENT_ERRORS_PER_APP);
    expect(kept[0]?.name).toBe(`n${RECENT_ERRORS_PER_APP + 9}`);
    expect(kept.at(-1)?.name).toBe('n10');
    expect(kept[0]?.debug?.length).toBe(RECENT_ERROR_TEXT_LIMIT);
    expect(await recent.of('b')).toEqual([
      {
        at: expect.any(String),
        kind: 'endpoint',
        name: 'e',
        error: 'BLInternalError',
        description: expect.any(String),
      },
    ]);
    expect(await recent.of('nobody')).toEqual([]);
  });
});
