/**
 * Business Logic from a kinvey-cli environment file (test/fixtures/business-logic/env.json, in
 * the format `kinvey appenv export` writes): internal hooks and endpoints in the sandbox, external
 * ones in a real Flex service built with kinvey-flex-sdk, an external collection, common code, a
 * schedule and the environment's groups, on both document stores.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { EndpointScheduler } from '../../src/business-logic/endpoints/scheduler';
import { createEnvironmentGroups } from '../../src/domain/groups/environment-groups';
import { GroupsService } from '../../src/domain/groups/groups.service';
import { startFlexService, type FlexServiceProcess } from '../support/flex-service';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const ENV_FILE = path.join(__dirname, '../fixtures/business-logic/env.json');

describe.each(DOCUMENT_STORES)('Business Logic from an environment file (%s store)', (documents) => {
  let flex: FlexServiceProcess;
  let t: TestApp;
  let ann: { id: string; auth: string };

  beforeAll(async () => {
    flex = await startFlexService();
    t = await startTestApp({
      documents,
      environment: { file: ENV_FILE, flexServices: { catalog: { host: flex.url, secret: flex.secret } } },
    });
    ann = await createUser(t, 'ann');
  });
  afterAll(async () => {
    await t?.close();
    await flex?.stop();
  });

  test('the Files guide pre-save hook appends _ to a 12-character _id, with common code and the requester', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', ann.auth)
      .send({ _id: 'abcdefghijkl', title: 'dune' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ _id: 'abcdefghijkl_', title: 'dune', shelf: 'D', savedBy: 'ann' });
    // The external post-save hook (Flex addPostField) changed the answer, not the stored entity.
    expect(res.body.postField).toBe('after POST');
    const stored = await t.documents.find({ appKey: t.appKey, collection: 'books' }, { _id: 'abcdefghijkl_' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toHaveProperty('postField');
  });

  test('ids of other lengths are kept; PUT runs the same save hooks', async () => {
    const res = await request(t.app)
      .put(`/appdata/${t.appKey}/books/b-1`)
      .set('Authorization', ann.auth)
      .send({ title: 'emma' });
    expect([200, 201]).toContain(res.status);
    expect(res.body).toMatchObject({ _id: 'b-1', shelf: 'E', postField: 'after PUT' });
  });

  test('the post-fetch hook stamps lists and single entities with moment and lodash', async () => {
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', ann.auth)
      .send({ _id: 'fetch-1', title: 'fetched' })
      .expect(201);
    const one = await request(t.app)
      .get(`/appdata/${t.appKey}/books/fetch-1`)
      .set('Authorization', ann.auth)
      .expect(200);
    expect(one.body.readAt).toBe('2026-12-01');
    const list = await request(t.app)
      .get(`/appdata/${t.appKey}/books`)
      .query({ query: JSON.stringify({ _id: 'fetch-1' }) })
      .set('Authorization', ann.auth)
      .expect(200);
    expect(list.body).toEqual([expect.objectContaining({ _id: 'fetch-1', readAt: '2026-12-01' })]);
  });

  test('a pre-delete hook reading through collectionAccess refuses to delete a locked book, and the book stays', async () => {
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'locked-1', title: 'kept', locked: true })
      .expect(201);
    const res = await request(t.app).delete(`/appdata/${t.appKey}/books/locked-1`).set('Authorization', t.masterAuth);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'BookLocked', description: 'Locked books stay on the shelf', debug: 'locked-1' });
    await request(t.app).get(`/appdata/${t.appKey}/books/locked-1`).set('Authorization', t.masterAuth).expect(200);
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', ann.auth)
      .send({ _id: 'loose-1', title: 'gone' })
      .expect(201);
    await request(t.app)
      .delete(`/appdata/${t.appKey}/books/loose-1`)
      .set('Authorization', ann.auth)
      .expect(200, { count: 1 });
  });

  test('X-Kinvey-Skip-Business-Logic skips the hooks for master, and is ignored for users', async () => {
    const master = await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', t.masterAuth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .send({ _id: 'zzzzzzzzzzzz', title: 'raw' });
    expect(master.status).toBe(201);
    expect(master.body._id).toBe('zzzzzzzzzzzz');
    expect(master.body).not.toHaveProperty('shelf');
    const user = await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .send({ _id: 'yyyyyyyyyyyy', title: 'hooked' });
    expect(user.body).toMatchObject({ _id: 'yyyyyyyyyyyy_', shelf: 'H' });
  });

  test('an internal custom endpoint answers from collectionAccess, async and lodash', async () => {
    for (const title of ['mars', 'moby dick']) {
      await request(t.app)
        .post(`/appdata/${t.appKey}/books`)
        .set('Authorization', ann.auth)
        .send({ title })
        .expect(201);
    }
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/shelfReport`)
      .set('Authorization', ann.auth)
      .send({ shelf: 'M' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ shelf: 'M', count: 2, titles: ['mars', 'moby dick'], askedBy: 'ann' });
  });

  test('an external custom endpoint reaches the Flex handler with the caller and the app metadata', async () => {
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/flexEcho`)
      .set('Authorization', ann.auth)
      .send({ hello: 'flex' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      body: { hello: 'flex' },
      username: 'ann',
      userId: ann.id,
      appKey: t.appKey,
      hookType: 'customEndpoint',
    });
  });

  test('an unknown endpoint is 404 EndpointDoesNotExist', async () => {
    const res = await request(t.app).post(`/rpc/${t.appKey}/custom/nope`).set('Authorization', ann.auth).send({});
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('EndpointDoesNotExist');
  });

  test('the external collection is served by the Flex service object, with its own pre-save hook', async () => {
    const created = await request(t.app)
      .post(`/appdata/${t.appKey}/widgets`)
      .set('Authorization', ann.auth)
      .send({ name: 'gear' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'gear', stamped: 'by flex' });
    const id = created.body._id as string;
    await request(t.app)
      .get(`/appdata/${t.appKey}/widgets/${id}`)
      .set('Authorization', ann.auth)
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ _id: id, name: 'gear' }));
    const count = await request(t.app)
      .get(`/appdata/${t.appKey}/widgets/_count`)
      .query({ query: JSON.stringify({ name: 'gear' }) })
      .set('Authorization', ann.auth)
      .expect(200);
    expect(count.body).toEqual({ count: 1 });
    await request(t.app).get(`/appdata/${t.appKey}/widgets/missing`).set('Authorization', ann.auth).expect(404);
    await request(t.app)
      .delete(`/appdata/${t.appKey}/widgets/${id}`)
      .set('Authorization', ann.auth)
      .expect(200, { count: 1 });
    // Nothing of it went to kinbase's own store.
    expect(await t.documents.count({ appKey: t.appKey, collection: 'widgets' }, {})).toBe(0);
  });

  test('user hooks: signup goes through onPreSave, and onPreLogin can turn a login away', async () => {
    const signup = await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'bob', password: 'pw-bob-secret', email: 'Bob@Example.COM' });
    expect(signup.status).toBe(201);
    expect(signup.body.email).toBe('bob@example.com');
    await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'banned', password: 'pw-banned-secret' })
      .expect(201);
    const login = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'banned', password: 'pw-banned-secret' });
    expect(login.status).toBe(403);
    expect(login.body.error).toBe('UserLockedDown');
    await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'bob', password: 'pw-bob-secret' })
      .expect(200);
  });

  test('a _blob post-save hook sees the _uploadURL and adds metadata to the answer', async () => {
    const res = await request(t.app)
      .post(`/blob/${t.appKey}`)
      .set('Authorization', ann.auth)
      .send({ _filename: 'cover.png', mimeType: 'image/png', size: 3 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ _filename: 'cover.png', sawUploadUrl: true, reviewed: false });
    expect(typeof res.body._uploadURL).toBe('string');
  });

  test('the scheduled endpoint runs once per tick, even with two instances on one store', async () => {
    let now = new Date('2026-06-01T12:00:30Z');
    const run = (appKey: string, endpoint: string, tick: Date) =>
      t.businessLogic.runScheduled(appKey, endpoint, tick).then(() => undefined);
    const logger = pino({ level: 'silent' });
    const apps = [{ appKey: t.appKey, ...appBusinessLogic(t) }];
    const one = new EndpointScheduler({ documents: t.documents, logger, clock: () => now, run, pollMs: 60_000 });
    const two = new EndpointScheduler({ documents: t.documents, logger, clock: () => now, run, pollMs: 60_000 });
    one.start(apps);
    two.start(apps);
    for (let minute = 0; minute < 3; minute++) {
      await Promise.all([one.checkNow(), two.checkNow()]);
      now = new Date(now.getTime() + 60_000);
    }
    await Promise.all([one.stop(), two.stop()]);
    const ticks = await request(t.app).get(`/appdata/${t.appKey}/ticks`).set('Authorization', t.masterAuth).expect(200);
    expect((ticks.body as Array<{ at: string }>).map((tick) => tick.at).sort()).toEqual([
      '2026-06-01T12:00:00.000Z',
      '2026-06-01T12:01:00.000Z',
      '2026-06-01T12:02:00.000Z',
    ]);
  });

  test('the environment file groups are created once, and a second start leaves them alone', async () => {
    const groups = new GroupsService(t.documents);
    expect(await createEnvironmentGroups(t.definition, groups)).toEqual(['librarians']);
    expect(await createEnvironmentGroups(t.definition, groups)).toEqual([]);
    const res = await request(t.app)
      .get(`/group/${t.appKey}/librarians`)
      .set('Authorization', t.masterAuth)
      .expect(200);
    expect(res.body).toMatchObject({
      _id: 'librarians',
      name: 'Librarians',
      description: 'People who run the shelves',
    });
  });
});

/** The test app's Business Logic and groups, as the server has them from the apps file. */
function appBusinessLogic(t: TestApp) {
  return { businessLogic: t.definition.businessLogic, groups: t.definition.groups };
}

describe('a Flex service that is slow or down', () => {
  let flex: FlexServiceProcess;
  let t: TestApp;
  let ann: { id: string; auth: string };
  let dir: string;

  beforeAll(async () => {
    flex = await startFlexService();
    dir = makeTempDir('kinbase-bl-flex-');
    const external = (handlerName: string) => ({
      type: 'external',
      service: 'catalog',
      serviceEnvironment: 'development',
      handlerName,
    });
    writeFileSync(
      path.join(dir, 'env.json'),
      JSON.stringify({
        schemaVersion: '1.0.0',
        configType: 'environment',
        collections: {
          slowbooks: { type: 'internal', permissions: 'shared' },
          gadgets: { type: 'external', permissions: 'shared', service: 'catalog', serviceObject: 'widgets' },
          // All users may read, nobody but master may write: the service holds the entities.
          sealed: {
            type: 'external',
            permissions: { 'all-users': { read: 'always', create: 'never', update: 'never', delete: 'never' } },
            service: 'catalog',
            serviceObject: 'widgets',
          },
        },
        collectionHooks: { slowbooks: { onPreSave: external('slow') } },
        customEndpoints: { crash: external('crash'), echo: external('echo') },
      }),
    );
    // The `slow` handler answers after 5 s; this app gives Flex calls 1 s (KINBASE_FLEX_TIMEOUT_MS).
    t = await startTestApp({
      env: { KINBASE_FLEX_TIMEOUT_MS: '1000' },
      environment: {
        file: path.join(dir, 'env.json'),
        flexServices: { catalog: { host: flex.url, secret: flex.secret } },
      },
    });
    ann = await createUser(t, 'ann');
  });
  afterAll(async () => {
    await t?.close();
    await flex?.stop();
    if (dir) removeTempDir(dir);
  });

  test('an external collection with a role table refuses what no role of the caller allows; master still writes', async () => {
    await request(t.app).get(`/appdata/${t.appKey}/sealed`).set('Authorization', ann.auth).expect(200);
    const insert = await request(t.app)
      .post(`/appdata/${t.appKey}/sealed`)
      .set('Authorization', ann.auth)
      .send({ name: 'forbidden' });
    expect(insert.status).toBe(401);
    expect(insert.body.error).toBe('InsufficientCredentials');
    const remove = await request(t.app).delete(`/appdata/${t.appKey}/sealed/x`).set('Authorization', ann.auth);
    expect(remove.status).toBe(401);
    await request(t.app)
      .post(`/appdata/${t.appKey}/sealed`)
      .set('Authorization', t.masterAuth)
      .send({ name: 'by master' })
      .expect(201);
  });

  test('a pre-save hook that does not answer in time is 550 BLTimeoutError and nothing is saved', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/slowbooks`)
      .set('Authorization', ann.auth)
      .send({ _id: 'late-1', title: 'late' });
    expect(res.status).toBe(550);
    expect(res.body).toEqual({
      error: 'BLTimeoutError',
      description: expect.any(String),
      debug: expect.stringContaining('catalog'),
    });
    expect(await t.documents.count({ appKey: t.appKey, collection: 'slowbooks' }, {})).toBe(0);
  });

  test("a handler's runtimeError reaches the client as Flex's 550 FlexRuntimeError", async () => {
    const res = await request(t.app).post(`/rpc/${t.appKey}/custom/crash`).set('Authorization', ann.auth).send({});
    expect(res.status).toBe(550);
    expect(res.body).toMatchObject({ error: 'FlexRuntimeError', debug: 'Error: boom' });
  });

  test('once the service is down, hooks, endpoints and the external collection answer 550 BLInternalError, and the rest of the app works', async () => {
    await flex.stop();
    const endpoint = await request(t.app).post(`/rpc/${t.appKey}/custom/echo`).set('Authorization', ann.auth).send({});
    expect(endpoint.status).toBe(550);
    expect(endpoint.body).toMatchObject({ error: 'BLInternalError', debug: expect.stringContaining('catalog') });
    expect(JSON.stringify(endpoint.body)).not.toContain(flex.secret);
    const hooked = await request(t.app)
      .post(`/appdata/${t.appKey}/slowbooks`)
      .set('Authorization', ann.auth)
      .send({ title: 'x' });
    expect(hooked.body.error).toBe('BLInternalError');
    const listed = await request(t.app).get(`/appdata/${t.appKey}/gadgets`).set('Authorization', ann.auth);
    expect(listed.status).toBe(550);
    expect(listed.body.error).toBe('BLInternalError');
    await request(t.app)
      .post(`/appdata/${t.appKey}/plain`)
      .set('Authorization', ann.auth)
      .send({ fine: true })
      .expect(201);
  });
});

// Kinvey's requestContext keeps custom request properties (X-Kinvey-Custom-Request-Properties)
// for the whole request: what one hook sets, the hooks after it read, internal or Flex.
describe('custom request properties across the hooks of one request', () => {
  let flex: FlexServiceProcess;
  let t: TestApp;
  let ann: { id: string; auth: string };
  let dir: string;

  const hook = (name: string, body: string) => ({
    type: 'internal',
    code: `function ${name}(request, response, modules) {\n  var c = modules.requestContext;\n  ${body}\n  response.continue();\n}`,
  });

  beforeAll(async () => {
    flex = await startFlexService();
    dir = makeTempDir('kinbase-bl-props-');
    writeFileSync(
      path.join(dir, 'env.json'),
      JSON.stringify({
        schemaVersion: '1.0.0',
        configType: 'environment',
        collections: {
          notes: { type: 'internal', permissions: 'shared' },
          flexnotes: { type: 'internal', permissions: 'shared' },
        },
        collectionHooks: {
          notes: {
            onPreSave: hook(
              'onPreSave',
              "c.setCustomRequestProperty('stage', 'preSave'); c.setCustomRequestProperty('tierSeen', c.getCustomRequestProperty('tier'));",
            ),
            onPreInsert: hook(
              'onPreInsert',
              "request.body.preSaveSaw = c.getCustomRequestProperty('stage'); c.setCustomRequestProperty('inserted', true);",
            ),
            onPostInsert: hook('onPostInsert', "c.setCustomRequestProperty('postInsert', 1);"),
            onPostSave: hook('onPostSave', 'response.body.props = c.getCustomRequestProperties();'),
          },
          flexnotes: {
            onPreSave: hook('onPreSave', "c.setCustomRequestProperty('stage', 'preSave');"),
            onPostSave: {
              type: 'external',
              service: 'catalog',
              serviceEnvironment: 'development',
              handlerName: 'echo',
            },
          },
        },
      }),
    );
    t = await startTestApp({
      environment: {
        file: path.join(dir, 'env.json'),
        flexServices: { catalog: { host: flex.url, secret: flex.secret } },
      },
    });
    ann = await createUser(t, 'ann');
  });
  afterAll(async () => {
    await t?.close();
    await flex?.stop();
    if (dir) removeTempDir(dir);
  });

  test('a property a pre hook sets reaches the next pre hook and the post hooks, beside the client’s own', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Custom-Request-Properties', JSON.stringify({ tier: 'gold' }))
      .send({ _id: 'n-1', text: 'hello' });
    expect(res.status).toBe(201);
    expect(res.body.preSaveSaw).toBe('preSave');
    expect(res.body.props).toEqual({ tier: 'gold', stage: 'preSave', tierSeen: 'gold', inserted: true, postInsert: 1 });
    const stored = await t.documents.find({ appKey: t.appKey, collection: 'notes' }, { _id: 'n-1' });
    expect(stored[0]).toMatchObject({ preSaveSaw: 'preSave' });
  });

  test("a Flex post hook's requestContext reads what an internal pre hook set", async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/flexnotes`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Custom-Request-Properties', JSON.stringify({ tier: 'gold' }))
      .send({ text: 'hello' });
    expect(res.status).toBe(201);
    expect(res.body.customRequestProperties).toEqual({ tier: 'gold', stage: 'preSave' });
  });
});
