/**
 * A field hidden from a reader is also refused in their query, count, sort and fields: another
 * user's `_socialIdentity` (provider access tokens) could otherwise be recovered one regex at a
 * time through `_count`, even though reads never show it.
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

describe.each(DOCUMENT_STORES)('hidden user fields on the %s store', (documents) => {
  let t: TestApp;
  let prober: { id: string; auth: string };
  const probe = { '_socialIdentity.facebook.access_token': { $regex: '^EAA' } };

  beforeAll(async () => {
    t = await startTestApp({ documents });
    await createUser(t, 'victim', { _socialIdentity: { facebook: { id: '1001', access_token: 'EAAsecret-token' } } });
    prober = await createUser(t, 'prober');
  });
  afterAll(async () => t.close());

  test.each([
    ["_count with a regex on another user's access token", 'get', '/_count', { query: JSON.stringify(probe) }],
    ['a list query on _socialIdentity', 'get', '', { query: JSON.stringify(probe) }],
    [
      'a query naming the whole _socialIdentity object',
      'get',
      '',
      { query: JSON.stringify({ _socialIdentity: { $exists: true } }) },
    ],
    ['a query hiding the probe in $or', 'get', '', { query: JSON.stringify({ $or: [{ username: 'nobody' }, probe] }) }],
    ['a sort on the access token', 'get', '', { sort: JSON.stringify({ '_socialIdentity.facebook.access_token': 1 }) }],
    ['fields selecting _socialIdentity', 'get', '', { fields: 'username,_socialIdentity' }],
  ] as const)('%s is 400 InvalidQuerySyntax for a user', async (_name, _method, suffix, query) => {
    const res = await request(t.app).get(`/user/${t.appKey}${suffix}`).query(query).set('Authorization', prober.auth);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('InvalidQuerySyntax');
    expect(JSON.stringify(res.body)).not.toContain('EAAsecret');
  });

  test('_lookup with a filter on _socialIdentity is 400 for a user', async () => {
    const res = await request(t.app).post(`/user/${t.appKey}/_lookup`).set('Authorization', prober.auth).send(probe);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('InvalidQuerySyntax');
  });

  test('master may still query and count on _socialIdentity', async () => {
    const count = await request(t.app)
      .get(`/user/${t.appKey}/_count`)
      .query({ query: JSON.stringify(probe) })
      .set('Authorization', t.masterAuth);
    expect(count.status).toBe(200);
    expect(count.body).toEqual({ count: 1 });
  });

  test('ordinary user queries still work', async () => {
    const res = await request(t.app)
      .get(`/user/${t.appKey}`)
      .query({ query: JSON.stringify({ username: 'victim' }) })
      .set('Authorization', prober.auth);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(1);
    expect(res.body[0]._socialIdentity).toBeUndefined();
  });
});
