/**
 * Prototype pollution, attempted the way an ordinary user would: `__proto__`, `constructor` and
 * `prototype` in every place a client names a key or a path (fields, sort, query, bodies, ACLs,
 * lookups, headers), through every route. Each request must be refused or answered without a
 * 5xx, `Object.prototype` must stay exactly as it was, and no access may widen.
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

type Hostile = {
  name: string;
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  query?: Record<string, string>;
  body?: string;
  as: 'attacker' | 'app';
  refused: boolean;
};

const RESERVED = ['__proto__', 'constructor', 'prototype'];

/** The hostile requests: `refused` ones must be a 400; the others only must not hurt. */
function battery(): Hostile[] {
  const out: Hostile[] = [];
  for (const segment of RESERVED) {
    const paths = [`${segment}.gr`, `a.${segment}.gr`, `${segment}`];
    for (const path of paths) {
      out.push(
        {
          name: `GET /user fields=${path}`,
          method: 'get',
          path: '/user/{app}',
          query: { fields: path },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /appdata fields=${path}`,
          method: 'get',
          path: '/appdata/{app}/secrets',
          query: { fields: path },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /blob fields=${path}`,
          method: 'get',
          path: '/blob/{app}',
          query: { fields: path },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /appdata sort on ${path}`,
          method: 'get',
          path: '/appdata/{app}/secrets',
          query: { sort: JSON.stringify({ [path]: 1 }) },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /user sort on ${path}`,
          method: 'get',
          path: '/user/{app}',
          query: { sort: JSON.stringify({ [path]: 1 }) },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /appdata query on ${path}`,
          method: 'get',
          path: '/appdata/{app}/secrets',
          query: { query: `{"${path}":true}` },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /appdata/_count query on ${path}`,
          method: 'get',
          path: '/appdata/{app}/secrets/_count',
          query: { query: `{"${path}":true}` },
          as: 'attacker',
          refused: true,
        },
        {
          name: `DELETE /appdata query on ${path}`,
          method: 'delete',
          path: '/appdata/{app}/secrets',
          query: { query: `{"${path}":true}` },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /user/_count query on ${path}`,
          method: 'get',
          path: '/user/{app}/_count',
          query: { query: `{"${path}":true}` },
          as: 'attacker',
          refused: true,
        },
        {
          name: `GET /blob query on ${path}`,
          method: 'get',
          path: '/blob/{app}',
          query: { query: `{"${path}":true}` },
          as: 'attacker',
          refused: true,
        },
      );
    }
    const inner = `{"${segment}":{"gr":true,"gw":true,"_public":true,"permissions":"full"}}`;
    out.push(
      {
        name: `GET /appdata query value holding ${segment}`,
        method: 'get',
        path: '/appdata/{app}/secrets',
        query: { query: `{"x":${inner}}` },
        as: 'attacker',
        refused: true,
      },
      {
        name: `GET /appdata $elemMatch holding ${segment}`,
        method: 'get',
        path: '/appdata/{app}/secrets',
        query: { query: `{"x":{"$elemMatch":${inner}}}` },
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /user/_lookup with ${segment}`,
        method: 'post',
        path: '/user/{app}/_lookup',
        body: inner,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /appdata body with ${segment}`,
        method: 'post',
        path: '/appdata/{app}/secrets',
        body: inner,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /appdata nested body with ${segment}`,
        method: 'post',
        path: '/appdata/{app}/secrets',
        body: `{"profile":{"list":[${inner}]}}`,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /appdata _acl with ${segment}`,
        method: 'post',
        path: '/appdata/{app}/secrets',
        body: `{"_acl":${inner}}`,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /appdata _acl.groups with ${segment}`,
        method: 'post',
        path: '/appdata/{app}/secrets',
        body: `{"_acl":{"groups":${inner}}}`,
        as: 'attacker',
        refused: true,
      },
      {
        name: `PUT /appdata body with ${segment}`,
        method: 'put',
        path: '/appdata/{app}/secrets/mine',
        body: inner,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /appdata multi-insert with ${segment}`,
        method: 'post',
        path: '/appdata/{app}/secrets',
        body: `[${inner}]`,
        as: 'attacker',
        refused: false,
      },
      {
        name: `POST /blob metadata with ${segment}`,
        method: 'post',
        path: '/blob/{app}',
        body: inner,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /group body with ${segment}`,
        method: 'post',
        path: '/group/{app}',
        body: inner,
        as: 'attacker',
        refused: true,
      },
      {
        name: `PUT /user body with ${segment}`,
        method: 'put',
        path: '/user/{app}/{attacker}',
        body: `{"username":"attacker",${inner.slice(1)}`,
        as: 'attacker',
        refused: true,
      },
      {
        name: `POST /user signup with ${segment}`,
        method: 'post',
        path: '/user/{app}',
        body: `{"username":"u-${segment}",${inner.slice(1)}`,
        as: 'app',
        refused: true,
      },
      {
        name: `POST /user/login with ${segment}`,
        method: 'post',
        path: '/user/{app}/login',
        body: `{"username":"attacker","password":"x",${inner.slice(1)}`,
        as: 'app',
        refused: false,
      },
      {
        name: `GET /appdata collection named ${segment}`,
        method: 'get',
        path: `/appdata/{app}/${segment}`,
        as: 'attacker',
        refused: false,
      },
      {
        name: `GET /appdata app key ${segment}`,
        method: 'get',
        path: `/appdata/${segment}/secrets`,
        as: 'attacker',
        refused: false,
      },
    );
  }
  return out;
}

/** Everything about Object.prototype an attacker could change. */
function prototypeSnapshot(): string {
  const describe = (o: object) =>
    Object.getOwnPropertyNames(o)
      .sort()
      .map((k) => `${k}:${typeof Object.getOwnPropertyDescriptor(o, k)?.value}`)
      .join(',');
  return [
    describe(Object.prototype),
    describe(Array.prototype),
    describe(Function.prototype),
    String(Object.getPrototypeOf(Object.prototype)),
  ].join('|');
}

describe.each(DOCUMENT_STORES)('prototype pollution on the %s store', (documents) => {
  let t: TestApp;
  let owner: { id: string; auth: string };
  let attacker: { id: string; auth: string };
  let privateFileId: string;

  beforeAll(async () => {
    t = await startTestApp({ documents, collections: { secrets: { permissions: 'private' } } });
    owner = await createUser(t, 'owner');
    attacker = await createUser(t, 'attacker');
    const saved = await request(t.app)
      .post(`/appdata/${t.appKey}/secrets`)
      .set('Authorization', owner.auth)
      .send({ _id: 'theirs', pin: '4321' });
    expect(saved.status).toBe(201);
    const file = await request(t.app)
      .post(`/blob/${t.appKey}`)
      .set('Authorization', owner.auth)
      .send({ _filename: 'diary.txt', mimeType: 'text/plain' });
    expect(file.status).toBe(201);
    privateFileId = file.body._id as string;
  });
  afterAll(async () => t.close());

  test('no hostile key or path reaches Object.prototype, none gives a 5xx, and the reserved segments are refused with 400', async () => {
    const before = prototypeSnapshot();
    const seen: string[] = [];
    for (const h of battery()) {
      const path = h.path.replace('{app}', t.appKey).replace('{attacker}', attacker.id);
      let req = request(t.app)
        [h.method](path)
        .set('Authorization', h.as === 'app' ? t.appAuth : attacker.auth);
      if (h.query) req = req.query(h.query);
      const res = h.body === undefined ? await req : await req.set('Content-Type', 'application/json').send(h.body);
      const polluted = ['gr', 'gw', '_public', 'permissions'].filter(
        (k) => (({}) as Record<string, unknown>)[k] !== undefined,
      );
      if (res.status >= 500 || polluted.length > 0 || (h.refused && res.status !== 400)) {
        seen.push(`${h.name}: ${res.status} ${res.body?.error ?? ''} polluted=[${polluted.join(',')}]`);
      }
      if (h.refused && res.status === 400)
        expect(res.body).toMatchObject({
          error: expect.any(String),
          description: expect.any(String),
          debug: expect.any(String),
        });
    }
    expect(seen).toEqual([]);
    expect(prototypeSnapshot()).toBe(before);
  });

  test('after the battery, another user still cannot read the private entity or file (fields=__proto__.gr does not widen access)', async () => {
    await request(t.app).get(`/user/${t.appKey}`).query({ fields: '__proto__.gr' }).set('Authorization', attacker.auth);
    await request(t.app)
      .get(`/blob/${t.appKey}`)
      .query({ fields: '__proto__._public' })
      .set('Authorization', attacker.auth);
    const one = await request(t.app).get(`/appdata/${t.appKey}/secrets/theirs`).set('Authorization', attacker.auth);
    expect(one.status).toBe(401);
    const list = await request(t.app).get(`/appdata/${t.appKey}/secrets`).set('Authorization', attacker.auth);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([]);
    const write = await request(t.app)
      .put(`/appdata/${t.appKey}/secrets/theirs`)
      .set('Authorization', attacker.auth)
      .send({ pin: '0000' });
    expect(write.status).toBe(401);
    const file = await request(t.app).get(`/blob/${t.appKey}/${privateFileId}`).set('Authorization', attacker.auth);
    expect(file.status).toBe(401);
    const files = await request(t.app).get(`/blob/${t.appKey}`).set('Authorization', attacker.auth);
    expect(files.body).toEqual([]);
  });
});
