/**
 * Attacks on Kinvey roles: a user granting themselves a role, managing roles or reading who holds
 * them, squatting on a role id, and `_acl.roles` used to reach prototypes or smuggle operators.
 * Embedded store (the checks are above the store; roles.test.ts runs both stores).
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp } from '../support/test-app';

describe('roles under attack', () => {
  let t: TestApp;
  let mallory: { id: string; auth: string };
  let role: string;
  const api = () => request(t.app);

  beforeAll(async () => {
    t = await startTestApp({ collections: { vault: { permissions: 'private' } } });
    mallory = await createUser(t, 'mallory');
    role = (await api().post(`/roles/${t.appKey}`).set('Authorization', t.masterAuth).send({ name: 'Admin' })).body._id;
    await api()
      .post(`/appdata/${t.appKey}/vault`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'secret', _acl: { roles: { r: [role], u: [role], d: [role] } } })
      .expect(201);
  });
  afterAll(async () => t.close());

  const vaultRead = () => api().get(`/appdata/${t.appKey}/vault/secret`).set('Authorization', mallory.auth);

  test.each([
    ['her session', () => mallory.auth],
    ['the app secret', () => t.appAuth],
  ])('a user cannot grant herself a role with %s: 401, and the entity stays closed', async (_name, auth) => {
    const res = await api().put(`/user/${t.appKey}/${mallory.id}/roles/${role}`).set('Authorization', auth()).send({});
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('InsufficientCredentials');
    expect((await vaultRead()).status).toBe(401);
  });

  test.each([
    ['create a role', 'post', () => `/roles/${t.appKey}`],
    ['list roles', 'get', () => `/roles/${t.appKey}`],
    ['read a role', 'get', () => `/roles/${t.appKey}/${role}`],
    ['rename a role', 'put', () => `/roles/${t.appKey}/${role}`],
    ['delete a role', 'delete', () => `/roles/${t.appKey}/${role}`],
    ["list a role's members", 'get', () => `/roles/${t.appKey}/${role}/membership`],
    ['list her own roles', 'get', () => `/user/${t.appKey}/${mallory.id}/roles`],
    ["revoke someone's role", 'delete', () => `/user/${t.appKey}/${mallory.id}/roles/${role}`],
  ] as const)('a user cannot %s: 401 InsufficientCredentials', async (_name, method, path) => {
    const res = await api()[method](path()).set('Authorization', mallory.auth).send({ name: 'Mallory' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('InsufficientCredentials');
  });

  test('a role _id cannot be chosen, even by master: an ACL naming a future role id is not squatted', async () => {
    const made = await api()
      .post(`/roles/${t.appKey}`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'chosen-admin', name: 'Chosen' });
    expect(made.status).toBe(201);
    expect(made.body._id).not.toBe('chosen-admin');
  });

  test.each([
    ['__proto__ as a role name', { name: '__proto__' }],
    ['constructor as a role name', { name: 'constructor' }],
  ])('%s is refused (role names are keys of permission tables): 400', async (_name, body) => {
    const res = await api().post(`/roles/${t.appKey}`).set('Authorization', t.masterAuth).send(body);
    expect(res.status).toBe(400);
  });

  test.each([
    ['_acl.roles.__proto__ as a list', '{"_acl": {"roles": {"__proto__": ["x"]}}}'],
    ['_acl.roles as __proto__ of _acl', '{"_acl": {"__proto__": {"roles": {"r": ["x"]}}}}'],
    ['an operator in a role list', '{"_acl": {"roles": {"r": [{"$ne": null}]}}}'],
    ['a role list that is not an array', '{"_acl": {"roles": {"r": "x"}}}'],
  ])('%s is 400 and pollutes nothing', async (_name, body) => {
    const res = await api()
      .post(`/appdata/${t.appKey}/vault`)
      .set('Authorization', mallory.auth)
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(400);
    expect(({} as Record<string, unknown>).roles).toBeUndefined();
    expect(({} as Record<string, unknown>).r).toBeUndefined();
  });

  test('a query on _acl.roles does not widen what the user reads: the vault entity stays invisible', async () => {
    const res = await api()
      .get(`/appdata/${t.appKey}/vault`)
      .query({ query: JSON.stringify({ '_acl.roles.r': role }) })
      .set('Authorization', mallory.auth)
      .expect(200);
    expect(res.body).toEqual([]);
  });
});
