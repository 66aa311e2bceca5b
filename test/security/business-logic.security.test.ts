/**
 * Attacks from an ordinary client (a user session, or the app secret every client app ships)
 * against an app whose operator configured collection hooks, custom endpoints and a Flex-backed
 * collection: bypassing the hooks, steering Flex calls elsewhere, forging what the Flex service is
 * told, and answers that would leak secrets or break the response. Each test names the attack and
 * asserts what the client sees and what was stored.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { startFlexService, type FlexServiceProcess } from '../support/flex-service';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const REFUSE_ADMINS = `function onPreSave(request, response, modules) {
  var items = Array.isArray(request.body) ? request.body : [request.body];
  for (var i = 0; i < items.length; i++) {
    if (items[i] && items[i].role === 'admin') {
      response.body = { error: 'NoAdmins', description: 'Admins are made by hand', debug: '' };
      return response.complete(403);
    }
    if (items[i] && typeof items[i] === 'object') items[i].hooked = true;
  }
  response.continue();
}`;
const STRIP_SECRET = `function onPostFetch(request, response, modules) {
  var strip = function (e) { if (e && typeof e === 'object') delete e.secret; };
  if (Array.isArray(response.body)) response.body.forEach(strip); else strip(response.body);
  response.continue();
}`;
const KEEP_ALL = `function onPreDelete(request, response, modules) {
  response.body = { error: 'NoDeletes', description: 'Notes are kept', debug: '' };
  response.complete(403);
}`;
// Endpoints that answer what the caller asks for: the worst an operator's code could do with input.
const HEADERS_FROM_BODY = `function onRequest(request, response, modules) {
  response.headers = request.body.headers;
  response.body = { ok: true };
  response.complete(200);
}`;
const STATUS_FROM_BODY = `function onRequest(request, response, modules) {
  response.body = { ok: true };
  response.complete(request.body.status);
}`;
// A pre hook that tries to change what the rest of the request's pipeline is told.
const TAMPER_HEADERS = `function onPreSave(request, response, modules) {
  var h = request.headers;
  if (request.body.attack === 'identity') {
    h.authorization = 'Kinvey forged-token';
    h['x-kinvey-request-id'] = 'forged-id';
    h['x-kinvey-client-app-version'] = '9.9.9';
    h['x-kinvey-api-version'] = '1';
    modules.requestContext.setCustomRequestProperty('marked', true);
  } else if (request.body.attack === 'grow') {
    modules.requestContext.setCustomRequestProperty('pad', new Array(2001).join('x'));
  } else if (request.body.attack === 'not an object') {
    h['x-kinvey-custom-request-properties'] = '["admin"]';
  }
  response.continue();
}`;

const internal = (code: string) => ({ type: 'internal', code });
const external = (handlerName: string) => ({
  type: 'external',
  service: 'catalog',
  serviceEnvironment: 'development',
  handlerName,
});

let flex: FlexServiceProcess;
/** A stand-in Flex service that records the headers of every call (the SDK does not show them). */
let recorder: { url: string; seen: IncomingHttpHeaders[]; server: Server };
let t: TestApp;
let dir: string;
let ann: { id: string; auth: string };

beforeAll(async () => {
  flex = await startFlexService();
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume().on('end', () => {
      const data = !req.url?.startsWith('/_flexFunctions/');
      res.writeHead(200, { 'content-type': 'application/json', 'x-kinvey-request-continue': 'false' });
      res.end(JSON.stringify(data ? [] : { request: {}, response: { body: { recorded: true } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
  dir = makeTempDir('kinbase-bl-security-');
  writeFileSync(
    path.join(dir, 'env.json'),
    JSON.stringify({
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: {
        notes: { type: 'internal', permissions: 'shared' },
        memos: { type: 'internal', permissions: 'shared' },
        gadgets: {
          type: 'external',
          permissions: 'shared',
          service: 'catalog',
          serviceEnvironment: 'development',
          serviceObject: 'widgets',
        },
        gizmos: {
          type: 'external',
          permissions: 'shared',
          service: 'catalog',
          serviceEnvironment: 'development',
          serviceObject: 'gizmos',
        },
        sealed: {
          type: 'external',
          permissions: 'read-only',
          service: 'catalog',
          serviceEnvironment: 'development',
          serviceObject: 'widgets',
        },
        recorded: {
          type: 'external',
          permissions: 'shared',
          service: 'recorder',
          serviceEnvironment: 'development',
          serviceObject: 'things',
        },
      },
      collectionHooks: {
        notes: {
          onPreSave: internal(REFUSE_ADMINS),
          onPostFetch: internal(STRIP_SECRET),
          onPreDelete: internal(KEEP_ALL),
        },
        gadgets: { onPreSave: internal(REFUSE_ADMINS) },
        memos: {
          onPreSave: internal(TAMPER_HEADERS),
          onPostSave: {
            type: 'external',
            service: 'recorder',
            serviceEnvironment: 'development',
            handlerName: 'record',
          },
        },
        user: { onPreSave: internal(REFUSE_ADMINS), onPostFetch: internal(STRIP_SECRET) },
      },
      customEndpoints: {
        echo: external('echo'),
        record: { type: 'external', service: 'recorder', serviceEnvironment: 'development', handlerName: 'record' },
        headers: internal(HEADERS_FROM_BODY),
        status: internal(STATUS_FROM_BODY),
        myHeaders: internal(
          'function onRequest(request, response, modules) { response.body = request.headers; response.complete(200); }',
        ),
      },
    }),
  );
  t = await startTestApp({
    collections: { notes: { permissions: 'shared', deltaSet: true } },
    environment: {
      file: path.join(dir, 'env.json'),
      flexServices: {
        catalog: { host: flex.url, secret: flex.secret },
        recorder: { host: recorder.url, secret: 'recorder-secret' },
      },
    },
  });
  ann = await createUser(t, 'ann');
});

afterAll(async () => {
  await t?.close();
  await flex?.stop();
  if (recorder) await new Promise((resolve) => recorder.server.close(resolve));
  if (dir) removeTempDir(dir);
});

/** Fails if a response carries a secret the client must never see. */
function expectNoSecrets(res: request.Response): void {
  const text = `${JSON.stringify(res.headers)}\n${res.text ?? ''}`;
  expect(text).not.toContain(t.masterSecret);
  expect(text).not.toContain(flex.secret);
}

async function sessionOf(username: string, password: string): Promise<string> {
  const login = await request(t.app)
    .post(`/user/${t.appKey}/login`)
    .set('Authorization', t.appAuth)
    .send({ username, password })
    .expect(200);
  return `Kinvey ${login.body._kmd.authtoken as string}`;
}

const storedNotes = (filter: Record<string, unknown>) =>
  t.documents.find({ appKey: t.appKey, collection: 'notes' }, filter);

describe('skipping the hooks', () => {
  it.each([['true'], ['TRUE'], [' true '], ['True\t']])(
    'a user sending X-Kinvey-Skip-Business-Logic: %j still goes through onPreSave',
    async (value) => {
      const res = await request(t.app)
        .post(`/appdata/${t.appKey}/notes`)
        .set('Authorization', ann.auth)
        .set('X-Kinvey-Skip-Business-Logic', value)
        .send({ role: 'admin', via: `skip ${value}` });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('NoAdmins');
      expect(await storedNotes({ via: `skip ${value}` })).toHaveLength(0);
    },
  );

  it('a signup with the app secret and X-Kinvey-Skip-Business-Logic: true still goes through the user onPreSave', async () => {
    // The app secret ships in every client; only the master secret may skip Business Logic.
    const res = await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .send({ username: 'mallory-admin', password: 'pw-mallory', role: 'admin' });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('NoAdmins');
    const login = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'mallory-admin', password: 'pw-mallory' });
    expect(login.status).toBe(401);
  });

  it('a user sending X-Kinvey-Skip-Business-Logic to an external collection still goes through its onPreSave', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/gadgets`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .send({ role: 'admin' });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('NoAdmins');
  });
});

describe('reaching the store around the hooks', () => {
  it('PUT runs the same onPreSave as POST: an admin cannot be written by id', async () => {
    const res = await request(t.app)
      .put(`/appdata/${t.appKey}/notes/put-admin`)
      .set('Authorization', ann.auth)
      .send({ role: 'admin' });
    expect(res.status).toBe(403);
    expect(await storedNotes({ _id: 'put-admin' })).toHaveLength(0);
  });

  it('a multi-insert array hiding an admin among harmless entities saves none of them', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-API-Version', '5')
      .send([
        { _id: 'multi-ok', role: 'reader' },
        { _id: 'multi-admin', role: 'admin' },
      ]);
    expect(res.status).toBe(403);
    expect(await storedNotes({ _id: { $in: ['multi-ok', 'multi-admin'] } })).toHaveLength(0);
  });

  it('a multi-insert array of harmless entities is hooked entity by entity', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-API-Version', '5')
      .send([{ _id: 'multi-a' }, { _id: 'multi-b' }]);
    expect(res.status).toBe(201);
    expect((await storedNotes({ _id: { $in: ['multi-a', 'multi-b'] } })).map((e) => e.hooked)).toEqual([true, true]);
  });

  it('onPreDelete holds for delete by id and delete by query, and the entity stays', async () => {
    await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .send({ _id: 'kept-1' })
      .expect(201);
    const byId = await request(t.app).delete(`/appdata/${t.appKey}/notes/kept-1`).set('Authorization', ann.auth);
    expect(byId.status).toBe(403);
    const byQuery = await request(t.app)
      .delete(`/appdata/${t.appKey}/notes`)
      .query({ query: '{}' })
      .set('Authorization', ann.auth);
    expect(byQuery.status).toBe(403);
    const viaRpc = await request(t.app)
      .post(`/rpc/${t.appKey}/remove-collection`)
      .set('Authorization', ann.auth)
      .send({ collectionName: 'notes' });
    expect(viaRpc.status).toBe(401);
    const viaAppSecret = await request(t.app)
      .post(`/rpc/${t.appKey}/remove-collection`)
      .set('Authorization', t.appAuth)
      .send({ collectionName: 'notes' });
    expect(viaAppSecret.status).toBe(401);
    expect(await storedNotes({ _id: 'kept-1' })).toHaveLength(1);
  });

  it('onPostFetch strips the secret field from lists, single entities and every query form', async () => {
    await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .send({ _id: 'secret-1', secret: 'hunter2' })
      .expect(201);
    const one = await request(t.app)
      .get(`/appdata/${t.appKey}/notes/secret-1`)
      .set('Authorization', ann.auth)
      .expect(200);
    const list = await request(t.app)
      .get(`/appdata/${t.appKey}/notes`)
      .query({ query: JSON.stringify({ _id: 'secret-1' }), fields: 'secret' })
      .set('Authorization', ann.auth)
      .expect(200);
    const head = await request(t.app)
      .get(`/appdata/${t.appKey}/notes/secret-1`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Skip-Business-Logic', 'true')
      .expect(200);
    for (const res of [one, list, head]) expect(res.text).not.toContain('hunter2');
  });
});

describe('reading around the fetch hooks', () => {
  it('_group keyed on a field onPostFetch strips does not give it back', async () => {
    await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', ann.auth)
      .send({ _id: 'grouped-1', secret: 'swordfish' })
      .expect(201);
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/notes/_group`)
      .set('Authorization', ann.auth)
      .send({
        key: { secret: true },
        initial: { count: 0 },
        reduce: 'function(doc, out) { out.count++; }',
        condition: { _id: 'grouped-1' },
      });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('swordfish');
  });

  it('a delta set of a collection with fetch hooks is 403 MissingConfiguration (the SDKs then read it with a query)', async () => {
    const res = await request(t.app)
      .get(`/appdata/${t.appKey}/notes/_deltaset`)
      .query({ since: new Date(Date.now() - 60_000).toISOString() })
      .set('Authorization', ann.auth);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('MissingConfiguration');
  });

  it("/user/_me and user _group go through the user collection's onPostFetch", async () => {
    await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'mallory', password: 'pw-mallory-secret', secret: 'opensesame' })
      .expect(201);
    const auth = await sessionOf('mallory', 'pw-mallory-secret');
    const me = await request(t.app).get(`/user/${t.appKey}/_me`).set('Authorization', auth).expect(200);
    expect(me.body.username).toBe('mallory');
    expect(me.text).not.toContain('opensesame');
    const grouped = await request(t.app)
      .post(`/user/${t.appKey}/_group`)
      .set('Authorization', auth)
      .send({
        key: { secret: true },
        initial: { count: 0 },
        reduce: 'function(doc, out) { out.count++; }',
        condition: { username: 'mallory' },
      });
    expect(grouped.status).toBe(200);
    expect(grouped.text).not.toContain('opensesame');
  });
});

describe('custom endpoint names', () => {
  it.each([
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['hasOwnProperty', 'hasOwnProperty'],
    ['toString', 'toString'],
    ['valueOf', 'valueOf'],
    ['%5F%5Fproto%5F%5F', '%5F%5Fproto%5F%5F'],
    ['echo%00', 'echo%00'],
    ['echo%2F..', 'echo%2F..'],
    ['ech%C3%B6', 'ech%C3%B6'],
    ['5000 characters long', 'x'.repeat(5000)],
  ])('a user calling the endpoint %s gets 404 EndpointDoesNotExist and nothing runs', async (_label, name) => {
    const res = await request(t.app).post(`/rpc/${t.appKey}/custom/${name}`).set('Authorization', ann.auth).send({});
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('EndpointDoesNotExist');
    expect(res.body.debug.length).toBeLessThan(200);
  });

  it('the app secret cannot run a custom endpoint', async () => {
    const res = await request(t.app).post(`/rpc/${t.appKey}/custom/echo`).set('Authorization', t.appAuth).send({});
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(t.masterSecret);
  });
});

describe('steering the Flex service object', () => {
  // The echo function answers the app's master secret: reaching it through a data route would leak it.
  it.each([
    ['../_flexFunctions/echo'],
    ['..%2F_flexFunctions%2Fecho'],
    ['%2e%2e%2f_flexFunctions%2fecho'],
    ['x?query={}'],
    ['x#frag'],
    ['_count'],
    ['%5Fcount'],
    ['a/b'],
  ])('an entity id %s stays one id of the service object', async (id) => {
    const res = await request(t.app).get(`/appdata/${t.appKey}/gadgets/${id}`).set('Authorization', ann.auth);
    expectNoSecrets(res);
    expect(res.text).not.toContain(t.appSecret);
    if (
      res.status === 404 &&
      res.body.error === 'NotFound' &&
      typeof res.body.debug === 'string' &&
      res.body.debug.startsWith('no widget')
    )
      return;
    // Ids Express routes elsewhere (`_count`, a second path segment) answer as those routes do.
    expect([200, 404]).toContain(res.status);
    expect(res.body).not.toHaveProperty('masterSecret');
  });

  it.each([['.'], ['..'], ['%2e'], ['%2E%2e']])(
    'DELETE of the entity id %s does not become onDeleteAll on the service object',
    async (id) => {
      // %2E is an unreserved character: URL parsers may decode it, and then /gizmos/%2E is /gizmos/.
      await request(t.app)
        .post(`/appdata/${t.appKey}/gizmos`)
        .set('Authorization', ann.auth)
        .send({ name: `kept ${id}` })
        .expect(201);
      const before = await request(t.app).get(`/appdata/${t.appKey}/gizmos`).set('Authorization', ann.auth).expect(200);
      const res = await request(t.app).delete(`/appdata/${t.appKey}/gizmos/${id}`).set('Authorization', ann.auth);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('InvalidIdentifier');
      const after = await request(t.app).get(`/appdata/${t.appKey}/gizmos`).set('Authorization', ann.auth).expect(200);
      expect(after.body).toEqual(before.body);
    },
  );

  it.each([['.'], ['..']])(
    'GET and PUT of the entity id %s are refused instead of reaching the whole service object',
    async (id) => {
      const get = await request(t.app).get(`/appdata/${t.appKey}/gizmos/${id}`).set('Authorization', ann.auth);
      expect(get.status).toBe(400);
      expect(get.body.error).toBe('InvalidIdentifier');
      const put = await request(t.app)
        .put(`/appdata/${t.appKey}/gizmos/${id}`)
        .set('Authorization', ann.auth)
        .send({ name: 'x' });
      expect(put.status).toBe(400);
    },
  );

  it('query parameters cannot add parameters to the Flex call', async () => {
    for (const name of ['one', 'two'])
      await request(t.app)
        .post(`/appdata/${t.appKey}/gadgets`)
        .set('Authorization', ann.auth)
        .send({ name, batch: 'injection' })
        .expect(201);
    const res = await request(t.app)
      .get(`/appdata/${t.appKey}/gadgets`)
      .query({
        query: JSON.stringify({ batch: 'injection' }),
        'x&limit': '1',
        y: '1&limit=1',
        '../../_flexFunctions/echo': '1',
      })
      .set('Authorization', ann.auth);
    expect(res.status).toBe(200);
    expect((res.body as Array<{ name: string }>).map((w) => w.name).sort()).toEqual(['one', 'two']);
    expectNoSecrets(res);
  });

  it('a read-only external collection refuses user writes, with or without X-Kinvey-Skip-Business-Logic', async () => {
    for (const skip of [undefined, 'true']) {
      let req = request(t.app).post(`/appdata/${t.appKey}/sealed`).set('Authorization', ann.auth);
      if (skip) req = req.set('X-Kinvey-Skip-Business-Logic', skip);
      const res = await req.send({ name: 'forced' });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('InsufficientCredentials');
    }
    const del = await request(t.app)
      .delete(`/appdata/${t.appKey}/sealed`)
      .query({ query: '{}' })
      .set('Authorization', ann.auth);
    expect(del.status).toBe(401);
  });

  it.each([
    ['post', '_group'],
    ['get', '_deltaset'],
  ] as const)(
    "%s %s on an external collection is refused, not served from kinbase's own store",
    async (method, route) => {
      const res = await request(t.app)
        [method](`/appdata/${t.appKey}/gadgets/${route}`)
        .set('Authorization', ann.auth)
        .send({ key: { name: true }, initial: { count: 0 }, reduce: 'function(d,o){o.count++;}' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('FeatureUnavailable');
    },
  );
});

describe('what the Flex service is told', () => {
  it('headers a user forges (X-Auth-Key, X-Kinvey-App-Metadata, X-Kinvey-Username, -User-Id) reach the handler only as original request headers', async () => {
    const forgedMetadata = JSON.stringify({
      _id: 'other-app',
      appsecret: 'forged',
      mastersecret: 'forged-master',
      baasUrl: 'http://attacker.example',
    });
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/echo`)
      .set('Authorization', ann.auth)
      .set('X-Auth-Key', 'forged-key')
      .set('X-Kinvey-App-Metadata', forgedMetadata)
      .set('X-Kinvey-Username', 'admin')
      .set('X-Kinvey-User-Id', 'admin-id')
      .set('X-Kinvey-Environment-Id', 'other-app')
      .set('X-Kinvey-Response-Status', '200')
      .send({});
    // The handler ran, so the service accepted kinbase's own shared secret, not the forged one.
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      username: 'ann',
      userId: ann.id,
      appKey: t.appKey,
      authenticatedUsername: 'ann',
      securityContext: 'user',
    });
    expect(res.body.masterSecret).toBe(t.masterSecret); // the echo handler answers it: the operator's choice
    expect(res.body.headers).toMatchObject({
      'x-auth-key': 'forged-key',
      'x-kinvey-app-metadata': forgedMetadata,
      'x-kinvey-username': 'admin',
    });
  });

  it('header values outside ASCII reach the handler exactly as kinbase read them', async () => {
    const send = (endpoint: string) =>
      request(t.app)
        .post(`/rpc/${t.appKey}/custom/${endpoint}`)
        .set('Authorization', ann.auth)
        .set('X-Note', 'caf\u00e9 \u00ff')
        .set('X-Kinvey-Custom-Request-Properties', '{"a":"\u00e9"}')
        .send({});
    const [own, flexView] = await Promise.all([send('myHeaders'), send('echo')]);
    expect(flexView.status).toBe(200);
    expect(flexView.body.headers['x-note']).toBe(own.body['x-note']);
    expect(flexView.body.headers['x-kinvey-custom-request-properties']).toBe(
      own.body['x-kinvey-custom-request-properties'],
    );
  });
});

describe('what hooks and Flex services are told of the request', () => {
  // The response's X-Kinvey-Request-Id only takes a short, plain id from the client; the one a Flex
  // service logs and the one hooks read must be that same id, never the client's raw choice.
  it.each([
    ['header syntax', 'id; x-auth-key=forged, "quoted"'],
    ['markup', '<script>alert(1)</script>'],
    ['2,000 characters', 'a'.repeat(2000)],
    ['Latin-1 text', 'caf\u00e9'],
  ])(
    'a client-chosen X-Kinvey-Request-Id with %s reaches neither the Flex service nor a hook: both get the id the response carries',
    async (_kind, id) => {
      for (const send of [
        () =>
          request(t.app)
            .post(`/rpc/${t.appKey}/custom/record`)
            .set('Authorization', ann.auth)
            .set('X-Kinvey-Request-Id', id)
            .send({}),
        () =>
          request(t.app)
            .get(`/appdata/${t.appKey}/recorded`)
            .set('Authorization', ann.auth)
            .set('X-Kinvey-Request-Id', id),
      ]) {
        recorder.seen.length = 0;
        const res = await send();
        expect(res.status).toBe(200);
        const answered = res.headers['x-kinvey-request-id'];
        expect(answered).toMatch(/^[0-9a-f]{32}$/);
        expect(recorder.seen).toHaveLength(1);
        expect(recorder.seen[0]?.['x-kinvey-request-id']).toBe(answered);
        expect(JSON.parse(String(recorder.seen[0]?.['x-kinvey-original-request-headers']))['x-kinvey-request-id']).toBe(
          answered,
        );
      }
      const hook = await request(t.app)
        .post(`/rpc/${t.appKey}/custom/myHeaders`)
        .set('Authorization', ann.auth)
        .set('X-Kinvey-Request-Id', id)
        .send({});
      expect(hook.body['x-kinvey-request-id']).toBe(hook.headers['x-kinvey-request-id']);
    },
  );

  it('a plain client-chosen request id follows the request to the Flex service and the hooks unchanged', async () => {
    recorder.seen.length = 0;
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/record`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Request-Id', 'ios-4f2a.req:17')
      .send({});
    expect(res.headers['x-kinvey-request-id']).toBe('ios-4f2a.req:17');
    expect(recorder.seen[0]?.['x-kinvey-request-id']).toBe('ios-4f2a.req:17');
    const hook = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/myHeaders`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-Request-Id', 'ios-4f2a.req:18')
      .send({});
    expect(hook.body['x-kinvey-request-id']).toBe('ios-4f2a.req:18');
  });

  it("a hook that answers its request.headers never holds the client's Authorization; a Flex service still gets it, for its modules' useUserContext", async () => {
    const token = ann.auth.split(' ')[1] as string;
    const hook = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/myHeaders`)
      .set('Authorization', ann.auth)
      .set('Cookie', 'sid=cookie-secret')
      .send({});
    expect(hook.status).toBe(200);
    expect(hook.body).not.toHaveProperty('authorization');
    expect(hook.body).not.toHaveProperty('cookie');
    expect(hook.text).not.toContain(token);
    const flexView = await request(t.app).post(`/rpc/${t.appKey}/custom/echo`).set('Authorization', ann.auth).send({});
    expect(flexView.status).toBe(200);
    expect(flexView.body.headers.authorization).toBe(ann.auth);
    expect(flexView.body.securityContext).toBe('user');
  });
});

describe('request headers a hook changes for the hooks after it', () => {
  it('a pre hook that rewrites Authorization, the request id, the API and app versions in request.headers changes none of them for the post hook (a Flex service); only its custom request property goes on', async () => {
    recorder.seen.length = 0;
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/memos`)
      .set('Authorization', ann.auth)
      .set('X-Kinvey-API-Version', '3')
      .set('X-Kinvey-Client-App-Version', '1.2.3')
      .set('X-Kinvey-Custom-Request-Properties', JSON.stringify({ tier: 'gold' }))
      .send({ attack: 'identity' });
    expect(res.status).toBe(201);
    expect(recorder.seen).toHaveLength(1);
    const told = recorder.seen[0] as IncomingHttpHeaders;
    expect(told['x-kinvey-request-id']).toBe(res.headers['x-kinvey-request-id']);
    const original = JSON.parse(String(told['x-kinvey-original-request-headers']));
    expect(original).toMatchObject({
      authorization: ann.auth,
      'x-kinvey-request-id': res.headers['x-kinvey-request-id'],
      'x-kinvey-api-version': '3',
      'x-kinvey-client-app-version': '1.2.3',
    });
    expect(JSON.parse(original['x-kinvey-custom-request-properties'])).toEqual({ tier: 'gold', marked: true });
  });

  it.each([
    ['grows the custom request properties to 2,000 bytes', 'grow', /2000 bytes/],
    [
      'writes custom request properties that are not a JSON object',
      'not an object',
      /not a JSON object|other than a JSON object/,
    ],
  ])('a pre hook that %s is 550 BLRuntimeError naming the hook, and nothing is saved', async (_what, attack, debug) => {
    const _id = `memo-${attack.replace(/ /g, '-')}`;
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/memos`)
      .set('Authorization', ann.auth)
      .send({ _id, attack });
    expect(res.status).toBe(550);
    expect(res.body.error).toBe('BLRuntimeError');
    expect(res.body.debug).toContain('onPreSave');
    expect(res.body.debug).toMatch(debug);
    expect(await t.documents.find({ appKey: t.appKey, collection: 'memos' }, { _id })).toHaveLength(0);
  });
});

describe('who the Flex service is told is asking', () => {
  // Header parsers trim spaces and tabs around a value, and kinbase drops control characters a
  // header cannot carry: without care, "carol " would reach the service as carol.
  it.each([['carol '], [' carol'], ['carol\t'], ['car\u0000ol'], ['carol\r\n'], ['ca\u001brol']])(
    'a user signed up as %j is never announced to the Flex service as carol',
    async (lookalike) => {
      const carol = await request(t.app)
        .post(`/user/${t.appKey}`)
        .set('Authorization', t.appAuth)
        .send({ username: 'carol', password: 'pw-carol-secret' });
      expect([201, 409]).toContain(carol.status);
      const signup = await request(t.app)
        .post(`/user/${t.appKey}`)
        .set('Authorization', t.appAuth)
        .send({ username: lookalike, password: 'pw-lookalike' });
      expect(signup.status).toBe(201);
      const auth = await sessionOf(lookalike, 'pw-lookalike');
      const res = await request(t.app).post(`/rpc/${t.appKey}/custom/echo`).set('Authorization', auth).send({});
      expect(res.body.authenticatedUsername).not.toBe('carol');
      expect(res.status).toBe(550);
      expect(res.body).toMatchObject({ error: 'BLInternalError', debug: expect.stringContaining('username') });
      expect(res.body.username).toBeUndefined();
      const data = await request(t.app).get(`/appdata/${t.appKey}/gizmos`).set('Authorization', auth);
      expect(data.status).toBe(550);
      await request(t.app)
        .delete(`/user/${t.appKey}/${signup.body._id as string}`)
        .query({ hard: 'true' })
        .set('Authorization', t.masterAuth)
        .expect(204);
    },
  );

  it('a username outside ASCII reaches the Flex service without breaking the call', async () => {
    const signup = await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'zoë 用户', password: 'pw-zoe' });
    expect(signup.status).toBe(201);
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/echo`)
      .set('Authorization', await sessionOf('zoë 用户', 'pw-zoe'))
      .send({});
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(signup.body._id);
    expect(res.body.username).not.toBe('');
  });
});

describe('answers a hook builds from client input', () => {
  it('headers that would split the response, set cookies or reframe the body are not sent; well-formed ones are', async () => {
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/headers`)
      .set('Authorization', ann.auth)
      .send({
        headers: {
          'X-Split': 'a\r\nSet-Cookie: evil=1',
          'Set-Cookie': 'session=stolen',
          'Content-Length': '1',
          'Transfer-Encoding': 'chunked',
          'Content-Type': 'text/html',
          Connection: 'close',
          'X-Kinvey-Request-Id': 'forged',
          'bad name': 'x',
          'X-Long': 'a'.repeat(5000),
          'X-Wide': '\u0100',
          'X-Object': { a: 1 },
          'X-Fine': 'yes',
          'X-Number': 5,
        },
      });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers).not.toHaveProperty('set-cookie');
    expect(res.headers).not.toHaveProperty('x-split');
    expect(res.headers).not.toHaveProperty('x-long');
    expect(res.headers).not.toHaveProperty('x-wide');
    expect(res.headers).not.toHaveProperty('x-object');
    expect(res.headers['x-kinvey-request-id']).not.toBe('forged');
    expect(res.headers).toMatchObject({ 'x-fine': 'yes', 'x-number': '5' });
  });

  it.each([[99], [600], [1e3], ['200abc'], [-1], [null], [1.5]])(
    'a status of %j from client input is 550 BLRuntimeError, and the server keeps answering',
    async (status) => {
      const res = await request(t.app)
        .post(`/rpc/${t.appKey}/custom/status`)
        .set('Authorization', ann.auth)
        .send({ status });
      expect(res.status).toBe(550);
      expect(res.body.error).toBe('BLRuntimeError');
      await request(t.app)
        .post(`/rpc/${t.appKey}/custom/status`)
        .set('Authorization', ann.auth)
        .send({ status: 202 })
        .expect(202, { ok: true });
    },
  );

  it('a 204 from client input sends no body', async () => {
    const res = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/status`)
      .set('Authorization', ann.auth)
      .send({ status: 204 });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  it('a signup through the user onPreSave answers only what Kinvey does (its own password, no hash, no secret), and Flex errors carry no secret', async () => {
    const signup = await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'dave', password: 'pw-dave-secret' });
    expect(signup.status).toBe(201);
    expect(Object.keys(signup.body).sort()).toEqual(['_acl', '_id', '_kmd', 'hooked', 'password', 'username']);
    expect(signup.body.password).toBe('pw-dave-secret');
    expectNoSecrets(signup);
    const me = await request(t.app)
      .get(`/user/${t.appKey}/${signup.body._id as string}`)
      .set('Authorization', await sessionOf('dave', 'pw-dave-secret'))
      .expect(200);
    expect(me.text).not.toContain('pw-dave-secret');
    const missing = await request(t.app).get(`/appdata/${t.appKey}/gadgets/nope`).set('Authorization', ann.auth);
    expect(missing.status).toBe(404);
    expectNoSecrets(missing);
  });
});
