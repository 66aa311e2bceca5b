/**
 * kinbase's Flex client against a real kinvey-flex-sdk service (test/support/flex-service/service.js):
 * functions (hooks, endpoints), errors, external collections, and a service calling back into a real
 * kinbase through baasUrl.
 */
import request from 'supertest';
import { KinveyError } from '../../src/domain/errors';
import { FlexClient, flexHeaders, type FlexApp } from '../../src/business-logic/flex/flex-client';
import { FlexDataSource, type FlexDataContext } from '../../src/business-logic/flex/flex-data-source';
import { flexFunction } from '../../src/business-logic/flex/flex-function';
import type { BlInvocation, BlRequest, FlexServiceSpec } from '../../src/business-logic/types';
import { startFlexService, type FlexServiceProcess } from '../support/flex-service';
import { startTestApp } from '../support/test-app';

const app: FlexApp = {
  appKey: 'kid_flex',
  appSecret: 'app-secret-1',
  masterSecret: 'master-secret-1',
  baasUrl: 'http://127.0.0.1:1',
};

let flex: FlexServiceProcess;
let service: FlexServiceSpec;
let client: FlexClient;

beforeAll(async () => {
  flex = await startFlexService();
  service = { host: flex.url, secret: flex.secret };
});
afterAll(async () => {
  await flex?.stop();
});
beforeEach(() => {
  client = new FlexClient();
});
afterEach(() => client.close());

const fn = (handlerName: string, options: { service?: FlexServiceSpec; app?: FlexApp; client?: FlexClient } = {}) =>
  flexFunction(
    {
      service: options.service ?? service,
      serviceName: 'tests',
      handlerName,
      origin: `collectionHooks.books.${handlerName}`,
    },
    options.app ?? app,
    options.client ?? client,
  );

function invocation(
  stage: BlInvocation['stage'],
  request: Partial<BlRequest> = {},
  response = { status: 0, headers: {}, body: {} as unknown },
): BlInvocation {
  return {
    appKey: app.appKey,
    caller: 'user:u-alice',
    functionName: stage === 'customEndpoint' ? 'onRequest' : stage === 'pre' ? 'onPreSave' : 'onPostSave',
    stage,
    request: {
      method: 'POST',
      headers: { 'x-kinvey-api-version': '5' },
      body: { title: 'Dune' },
      params: {},
      username: 'alice',
      userId: 'u-alice',
      appKey: app.appKey,
      collectionName: 'books',
      ...request,
    },
    response,
    tempObjectStore: {},
  };
}

async function rejection(promise: Promise<unknown>): Promise<KinveyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KinveyError);
  return error as KinveyError;
}

describe('Flex functions', () => {
  it('an endpoint sees the body, the user, the client headers and the app metadata', async () => {
    const headers = {
      authorization: 'Basic abc',
      'x-kinvey-custom-request-properties': '{"lang":"fr"}',
      'x-kinvey-request-id': 'req-42',
    };
    const call = invocation('customEndpoint', {
      headers,
      params: { query: '{"a":1}' },
      collectionName: undefined,
      endpoint: 'hello',
      entityId: 'e1',
    });
    const outcome = await fn('echo').run(call);
    expect(outcome.continue).toBe(false);
    expect(outcome.response.status).toBe(200);
    expect(outcome.response.body).toMatchObject({
      body: { title: 'Dune' },
      method: 'POST',
      headers,
      username: 'alice',
      userId: 'u-alice',
      objectName: 'hello',
      entityId: 'e1',
      hookType: 'customEndpoint',
      query: { query: '{"a":1}' },
      appKey: 'kid_flex',
      appSecret: 'app-secret-1',
      masterSecret: 'master-secret-1',
      authenticatedUsername: 'alice',
      customRequestProperties: { lang: 'fr' },
    });
    // Values a handler stores in modules.tempObjectStore reach the next function of the request.
    expect(call.tempObjectStore).toEqual({ echoed: true });
  });

  it('a request without a body reaches the handler as {} (not the whole task body)', async () => {
    const outcome = await fn('echo').run(invocation('customEndpoint', { method: 'GET', body: undefined }));
    expect((outcome.response.body as { body: unknown }).body).toEqual({});
  });

  it('a username beyond ASCII does not break the call', async () => {
    const outcome = await fn('echo').run(invocation('customEndpoint', { username: 'zoë 東京' }));
    const seen = (outcome.response.body as { username: string }).username;
    expect(Buffer.from(seen, 'latin1').toString('utf8')).toBe('zoë 東京');
  });

  it('a pre hook that calls next() continues with the body it changed', async () => {
    const outcome = await fn('stampPreSave').run(invocation('pre'));
    expect(outcome.continue).toBe(true);
    expect(outcome.request.body).toEqual({ title: 'Dune', stamped: 'by flex' });
  });

  it('a pre hook can change the query parameters', async () => {
    const outcome = await fn('limitQuery').run(
      invocation('pre', { method: 'GET', body: undefined, params: { sort: '{"title":1}' } }),
    );
    expect(outcome.continue).toBe(true);
    expect(outcome.request.params).toEqual({ sort: '{"title":1}', limit: '1', query: '{"stamped":"by flex"}' });
    expect(outcome.request.body).toBeUndefined();
  });

  it('a pre hook that calls done() answers instead of the backend', async () => {
    const outcome = await fn('answerInstead').run(invocation('pre'));
    expect(outcome).toMatchObject({ continue: false, response: { status: 201, body: { answeredBy: 'flex' } } });
  });

  it('a post hook sees the response as its body and changes it, keeping the status', async () => {
    const response = {
      status: 201,
      headers: { 'x-kinvey-api-version': '5' },
      body: { _id: 'b1', title: 'Dune' } as unknown,
    };
    const outcome = await fn('addPostField').run(invocation('post', {}, response));
    expect(outcome.continue).toBe(true);
    expect(outcome.response).toEqual({
      status: 201,
      headers: { 'x-kinvey-api-version': '5' },
      body: { _id: 'b1', title: 'Dune', postField: 'after POST' },
    });
  });

  it('badRequest() becomes a 400 BadRequest with the service debug', async () => {
    const error = await rejection(fn('reject').run(invocation('pre')));
    expect(error.status).toBe(400);
    expect(error.toJSON()).toEqual({ error: 'BadRequest', description: 'Unable to understand request', debug: 'nope' });
  });

  it('runtimeError() becomes a 550 FlexRuntimeError without the service stack', async () => {
    const error = await rejection(fn('crash').run(invocation('customEndpoint')));
    expect(error.status).toBe(550);
    expect(error.error).toBe('FlexRuntimeError');
    expect(error.debug).toBe('Error: boom');
  });

  it('an unregistered handler is the service NotImplemented (501)', async () => {
    const error = await rejection(fn('nobody').run(invocation('customEndpoint')));
    expect([error.status, error.error]).toEqual([501, 'NotImplemented']);
  });

  it('a handler that throws (HTML 500 answer) is a BLInternalError about a non-JSON answer', async () => {
    const error = await rejection(fn('throws').run(invocation('customEndpoint')));
    expect([error.status, error.error]).toEqual([550, 'BLInternalError']);
    expect(error.debug).toMatch(/Flex service "tests".*not JSON/);
  });

  it('a wrong shared secret is a BLInternalError naming the service, not a 401, and never shows a secret', async () => {
    const error = await rejection(
      fn('echo', { service: { host: flex.url, secret: 'wrong-secret' } }).run(invocation('customEndpoint')),
    );
    expect([error.status, error.error]).toEqual([550, 'BLInternalError']);
    expect(error.debug).toMatch(/Flex service "tests" rejected kinbase's shared secret/);
    expect(JSON.stringify(error.toJSON())).not.toMatch(/wrong-secret|master-secret-1/);
  });

  it('a handler that does not answer in time is a BLTimeoutError', async () => {
    const quick = new FlexClient({ timeoutMs: 300 });
    try {
      const error = await rejection(fn('slow', { client: quick }).run(invocation('customEndpoint')));
      expect([error.status, error.error]).toEqual([550, 'BLTimeoutError']);
    } finally {
      quick.close();
    }
  });

  it('an answer over the size bound is a BLInternalError', async () => {
    const tiny = new FlexClient({ maxResponseBytes: 100 });
    try {
      const error = await rejection(fn('echo', { client: tiny }).run(invocation('customEndpoint')));
      expect(error.debug).toMatch(/more than 100 bytes/);
    } finally {
      tiny.close();
    }
  });

  it('a service that is down is a BLInternalError naming it (never its address or secret), not a hang', async () => {
    const down = await startFlexService();
    await down.stop();
    const error = await rejection(
      fn('echo', { service: { host: down.url, secret: down.secret } }).run(invocation('customEndpoint')),
    );
    expect([error.status, error.error]).toEqual([550, 'BLInternalError']);
    expect(error.debug).toMatch(/^Flex service "tests" is unreachable: ECONNREFUSED/);
    expect(error.debug).not.toContain(down.secret);
    expect(error.debug).not.toContain(new URL(down.url).host);
  });

  it("the service's userStore and roleStore manage Kinvey roles in kinbase (assignRole, listRoles, listMembers, findById)", async () => {
    const t = await startTestApp();
    try {
      const role = await request(t.app)
        .post(`/roles/${t.appKey}`)
        .set('Authorization', t.masterAuth)
        .send({ name: 'Ops' });
      const user = await request(t.app)
        .post(`/user/${t.appKey}`)
        .set('Authorization', t.appAuth)
        .send({ username: 'flexrole', password: 'pw-flexrole' });
      const kinbase: FlexApp = {
        appKey: t.appKey,
        appSecret: t.appSecret,
        masterSecret: t.masterSecret,
        baasUrl: t.baseUrl,
      };
      const outcome = await fn('usesRoles', { app: kinbase }).run(
        invocation('customEndpoint', { appKey: t.appKey, body: { userId: user.body._id, roleId: role.body._id } }),
      );
      const membership = {
        roleId: role.body._id,
        userId: user.body._id,
        grantedBy: t.appKey,
        grantDate: expect.any(String),
      };
      expect(outcome.response.body).toEqual({
        userRoles: [membership],
        members: [membership],
        role: expect.objectContaining({ _id: role.body._id, name: 'Ops' }),
      });
    } finally {
      await t.close();
    }
  });

  it('the service modules call back into kinbase through baasUrl with the master secret', async () => {
    const t = await startTestApp();
    try {
      const saved = await request(t.app)
        .post(`/appdata/${t.appKey}/books`)
        .set('Authorization', t.masterAuth)
        .send({ _id: 'b1', title: 'Dune' });
      expect(saved.status).toBe(201);
      const kinbase: FlexApp = {
        appKey: t.appKey,
        appSecret: t.appSecret,
        masterSecret: t.masterSecret,
        baasUrl: t.baseUrl,
      };
      const outcome = await fn('usesDataStore', { app: kinbase }).run(
        invocation('customEndpoint', { appKey: t.appKey, body: { collection: 'books', id: 'b1' } }),
      );
      expect(outcome.response.body).toMatchObject({ _id: 'b1', title: 'Dune' });
    } finally {
      await t.close();
    }
  });
});

describe('the client itself', () => {
  it('sends any Flex route with the shared headers: the auth handler answers a token', async () => {
    const headers = flexHeaders(service, app, { username: '', userId: '', headers: {} });
    const ok = await client.request(service, 'tests', {
      method: 'POST',
      path: '/_auth/auth',
      headers,
      body: { username: 'flexuser', password: 'flexpass', options: {} },
    });
    expect(ok).toMatchObject({ status: 200, body: { authenticated: true, token: { user: 'flexuser' } } });
    const denied = await client.request(service, 'tests', {
      method: 'POST',
      path: '/_auth/auth',
      headers,
      body: { username: 'flexuser', password: 'x' },
    });
    expect(denied).toMatchObject({ status: 401, body: { error: 'access_denied' } });
  });

  it('a host that is not a URL is a BLInternalError', async () => {
    const error = await rejection(
      client.request({ host: 'not a url', secret: 's' }, 'tests', { method: 'GET', path: '/healthcheck', headers: {} }),
    );
    expect([error.status, error.error]).toEqual([550, 'BLInternalError']);
  });
});

describe('external collections (FlexDataSource)', () => {
  const ctx = (): FlexDataContext => ({
    app,
    username: 'alice',
    userId: 'u-alice',
    headers: { 'x-kinvey-api-version': '5' },
  });

  it('round-trips create, list, get, count, query, replace and delete', async () => {
    const widgets = new FlexDataSource({ service, serviceName: 'tests', serviceObject: 'widgets' }, client);
    const created = await widgets.create(ctx(), { name: 'gear', color: 'red' });
    expect(created.status).toBe(201);
    const id = (created.body as { _id: string })._id;
    await widgets.create(ctx(), { name: 'cog', color: 'blue' });

    expect((await widgets.list(ctx(), {})).body).toEqual(
      expect.arrayContaining([{ _id: id, name: 'gear', color: 'red' }]),
    );
    expect((await widgets.get(ctx(), id)).body).toEqual({ _id: id, name: 'gear', color: 'red' });
    const all = (await widgets.count(ctx(), {})).body.count;
    expect(all).toBeGreaterThanOrEqual(2);
    expect((await widgets.count(ctx(), { query: '{"color":"blue"}' })).body.count).toBeGreaterThanOrEqual(1);
    expect((await widgets.list(ctx(), { query: '{"name":"gear"}' })).body).toEqual([
      { _id: id, name: 'gear', color: 'red' },
    ]);

    expect((await widgets.replace(ctx(), id, { name: 'gear', color: 'green' })).body).toEqual({
      _id: id,
      name: 'gear',
      color: 'green',
    });
    expect((await widgets.remove(ctx(), id)).body).toEqual({ count: 1 });
    const missing = await rejection(widgets.get(ctx(), id));
    expect([missing.status, missing.error, missing.debug]).toEqual([404, 'NotFound', `no widget ${id}`]);
    expect((await widgets.removeMatching(ctx(), { query: '{"name":"cog"}' })).body).toMatchObject({
      count: expect.any(Number),
    });
    expect((await widgets.count(ctx(), { query: '{"name":"cog"}' })).body).toEqual({ count: 0 });
  });

  it('an id "../x" or "_count" stays one path segment and reaches onGetById as itself', async () => {
    const widgets = new FlexDataSource({ service, serviceName: 'tests', serviceObject: 'widgets' }, client);
    for (const id of ['../x', '_count', 'a/b?c#d']) {
      const error = await rejection(widgets.get(ctx(), id));
      expect([error.status, error.debug]).toEqual([404, `no widget ${id}`]);
    }
  });

  it('a service object the service does not know answers NotImplemented', async () => {
    const gadgets = new FlexDataSource({ service, serviceName: 'tests', serviceObject: 'gadgets' }, client);
    const error = await rejection(gadgets.list(ctx(), {}));
    expect([error.status, error.error]).toEqual([501, 'NotImplemented']);
  });

  it('a wrong shared secret is a BLInternalError for data calls too', async () => {
    const widgets = new FlexDataSource(
      { service: { host: flex.url, secret: 'nope' }, serviceName: 'tests', serviceObject: 'widgets' },
      client,
    );
    const error = await rejection(widgets.count(ctx(), {}));
    expect([error.status, error.error]).toEqual([550, 'BLInternalError']);
    expect(error.debug).toMatch(/shared secret/);
  });
});
