/**
 * `POST /rpc/:appKey/remove-collection` (master; what Kinvey's own integration tests call between
 * runs), and custom endpoints of an app that has none (test/integration/business-logic.test.ts runs real ones).
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

const KINVEY_CLEANUP_HEADERS = {
  'X-Kinvey-Delete-Entire-Collection': 'true',
  'X-Kinvey-Retain-collection-Metadata': 'true',
};

describe.each(DOCUMENT_STORES)('rpc on the %s store', (documents) => {
  let t: TestApp;
  let user: { id: string; auth: string };
  beforeEach(async () => {
    t = await startTestApp({ documents });
    user = await createUser(t, 'ann');
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', user.auth)
      .send([{ t: 1 }, { t: 2 }, { t: 3 }])
      .expect(201);
    await request(t.app).post(`/appdata/${t.appKey}/pens`).set('Authorization', user.auth).send({ t: 1 }).expect(201);
  });
  afterEach(async () => t.close());

  const remove = (auth: string, body: unknown) =>
    request(t.app)
      .post(`/rpc/${t.appKey}/remove-collection`)
      .set('Authorization', auth)
      .set(KINVEY_CLEANUP_HEADERS)
      .send(body as object);

  test('master empties one collection and learns how many entities went; others stay', async () => {
    const res = await remove(t.masterAuth, { collectionName: 'books' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ count: 3 });
    expect(
      (await request(t.app).get(`/appdata/${t.appKey}/books/_count`).set('Authorization', user.auth)).body,
    ).toEqual({ count: 0 });
    expect((await request(t.app).get(`/appdata/${t.appKey}/pens/_count`).set('Authorization', user.auth)).body).toEqual(
      { count: 1 },
    );
    // The collection still works afterwards.
    await request(t.app).post(`/appdata/${t.appKey}/books`).set('Authorization', user.auth).send({ t: 4 }).expect(201);
  });

  test('removing the user collection removes every user, their logins and their sessions', async () => {
    const res = await remove(t.masterAuth, { collectionName: 'user' });
    expect(res.body).toEqual({ count: 1 });
    expect((await request(t.app).get(`/user/${t.appKey}/_me`).set('Authorization', user.auth)).status).toBe(401);
    const login = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'ann', password: 'pw-ann-secret' });
    expect(login.status).toBe(401);
    await request(t.app)
      .post(`/user/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .send({ username: 'ann', password: 'again' })
      .expect(201);
  });

  test.each([
    ['user credentials', 'user', { collectionName: 'books' }, 401, 'InsufficientCredentials'],
    ['app credentials', 'app', { collectionName: 'books' }, 401, 'InsufficientCredentials'],
    ['no collection name', 'master', {}, 400, 'MissingRequestParameter'],
    ['the files collection', 'master', { collectionName: '_blob' }, 403, 'IndirectCollectionAccessDisallowed'],
    ['an internal collection', 'master', { collectionName: '_session' }, 403, 'IndirectCollectionAccessDisallowed'],
    ['a malformed name', 'master', { collectionName: '../x' }, 400, 'InvalidIdentifier'],
  ])('with %s it is refused and nothing is removed', async (_what, as, body, status, error) => {
    const auth = as === 'user' ? user.auth : as === 'app' ? t.appAuth : t.masterAuth;
    const res = await remove(auth, body);
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(error);
    expect(
      (await request(t.app).get(`/appdata/${t.appKey}/books/_count`).set('Authorization', user.auth)).body,
    ).toEqual({ count: 3 });
  });

  test('an app without custom endpoints answers 404 EndpointDoesNotExist to users and master, 401 to app credentials', async () => {
    for (const auth of [user.auth, t.masterAuth]) {
      const res = await request(t.app)
        .post(`/rpc/${t.appKey}/custom/doSomething`)
        .set('Authorization', auth)
        .send({ a: 1 });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: 'EndpointDoesNotExist',
        description: expect.any(String),
        debug: expect.any(String),
      });
    }
    const app = await request(t.app)
      .post(`/rpc/${t.appKey}/custom/doSomething`)
      .set('Authorization', t.appAuth)
      .send({});
    expect(app.status).toBe(401);
  });
});
