/**
 * A body kinbase cannot read as JSON is a 400 that says to send Content-Type: application/json,
 * on every route, and never falls through to defaults (a signup sent as text/plain used to create
 * a random user, ignoring the username and password sent).
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp } from '../support/test-app';

describe('bodies without Content-Type: application/json', () => {
  let t: TestApp;
  let user: { id: string; auth: string };
  beforeAll(async () => {
    t = await startTestApp();
    user = await createUser(t, 'reader');
  });
  afterAll(() => t.close());

  const body = JSON.stringify({ username: 'typed', password: 'typed-password' });

  test.each([
    ['signup', 'post', (a: TestApp) => `/user/${a.appKey}`, 'app'],
    ['login', 'post', (a: TestApp) => `/user/${a.appKey}/login`, 'app'],
    ['an entity create', 'post', (a: TestApp) => `/appdata/${a.appKey}/things`, 'user'],
    ['an entity replace', 'put', (a: TestApp) => `/appdata/${a.appKey}/things/one`, 'user'],
    ['a file metadata create', 'post', (a: TestApp) => `/blob/${a.appKey}`, 'user'],
    ['a group create', 'post', (a: TestApp) => `/group/${a.appKey}`, 'user'],
    ['a user lookup', 'post', (a: TestApp) => `/user/${a.appKey}/_lookup`, 'user'],
  ] as const)('%s sent as text/plain is 400 naming the header', async (_what, method, path, as) => {
    for (const type of ['text/plain', undefined]) {
      let req = request(t.app)
        [method](path(t))
        .set('Authorization', as === 'app' ? t.appAuth : user.auth);
      req = type ? req.set('Content-Type', type) : req.unset('Content-Type');
      const res = await req.send(Buffer.from(body));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'BadRequest',
        description: expect.any(String),
        debug: expect.stringContaining('Content-Type: application/json'),
      });
    }
  });

  test('no user is created by a signup whose body was not read', async () => {
    const before = await request(t.app).get(`/user/${t.appKey}/_count`).set('Authorization', t.masterAuth);
    await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .set('Content-Type', 'text/plain')
      .send(body)
      .expect(400);
    const after = await request(t.app).get(`/user/${t.appKey}/_count`).set('Authorization', t.masterAuth);
    expect(after.body).toEqual(before.body);
  });

  test('a signup with no body at all still creates an implicit user, as the SDKs expect', async () => {
    const res = await request(t.app).post(`/user/${t.appKey}`).set('Authorization', t.appAuth);
    expect(res.status).toBe(201);
    expect(res.body.username).toEqual(expect.any(String));
  });
});
