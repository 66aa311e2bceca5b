/**
 * The session cache: a token seen a moment ago costs no `_session` or `_group` round trip, and
 * everything that ends a session or changes a membership on this instance takes effect on the
 * very next request. The TTL here is a minute, so a missing eviction shows as a stale answer.
 */
import request from 'supertest';
import { collectionRecorder, roundTripsDuring, sample, scrape } from '../support/metrics-text';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

const LONG_TTL = { KINBASE_SESSION_CACHE_TTL_MS: '60000' };

describe.each(DOCUMENT_STORES)('the session cache on the %s document store', (documents) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function start(options: TestAppOptions = {}): Promise<{ t: TestApp; calls: string[] }> {
    const recorder = collectionRecorder();
    t = await startTestApp({ documents, env: LONG_TTL, wrapDocuments: recorder.wrap, ...options });
    return { t, calls: recorder.calls };
  }

  const me = (app: TestApp, auth: string) => request(app.app).get(`/user/${app.appKey}/_me`).set('Authorization', auth);
  const sessionReads = (calls: string[]) =>
    calls.filter((c) => c.endsWith(' _session') || c.endsWith(' _group') || c.endsWith(' _roleMember'));

  test('a second request with the same token makes no session, group or role round trip', async () => {
    const { t, calls } = await start();
    const alice = await createUser(t, 'alice');
    const first = await roundTripsDuring(t, 'GET', '/user/:appKey/_me', () => me(t, alice.auth).expect(200));
    calls.length = 0;
    const second = await roundTripsDuring(t, 'GET', '/user/:appKey/_me', () => me(t, alice.auth).expect(200));
    expect(sessionReads(calls)).toEqual([]);
    // The session, the groups and the role memberships (none: no role read), then the user record;
    // the second time the user record only.
    expect(first).toEqual({ requests: 1, roundTrips: 4 });
    expect(second).toEqual({ requests: 1, roundTrips: 1 });
    const text = await scrape(t);
    expect(sample(text, 'kinbase_session_cache_lookups_total', { outcome: 'hit' })).toBe(1);
    expect(sample(text, 'kinbase_session_cache_lookups_total', { outcome: 'miss' })).toBe(1);
  });

  test('with KINBASE_SESSION_CACHE_TTL_MS=0 every request reads its session', async () => {
    const { t, calls } = await start({ env: { KINBASE_SESSION_CACHE_TTL_MS: '0' } });
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    calls.length = 0;
    await me(t, alice.auth).expect(200);
    expect(sessionReads(calls)).toEqual(['findByIds _session', 'find _group', 'find _roleMember']);
  });

  test('logout ends the cached session on the next request', async () => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    await request(t.app).post(`/user/${t.appKey}/_logout`).set('Authorization', alice.auth).expect(204);
    expect((await me(t, alice.auth).expect(401)).body.error).toBe('InvalidCredentials');
  });

  test('a password change ends the other cached sessions at once, and keeps the one that made it', async () => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    const other = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'alice', password: 'pw-alice-secret' })
      .expect(200);
    const otherAuth = `Kinvey ${other.body._kmd.authtoken as string}`;
    await me(t, alice.auth).expect(200);
    await me(t, otherAuth).expect(200);
    await request(t.app)
      .put(`/user/${t.appKey}/${alice.id}`)
      .set('Authorization', alice.auth)
      .send({ username: 'alice', password: 'a-new-password' })
      .expect(200);
    await me(t, otherAuth).expect(401);
    await me(t, alice.auth).expect(200);
  });

  test('a password change by master ends every cached session of the user', async () => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    await request(t.app)
      .put(`/user/${t.appKey}/${alice.id}`)
      .set('Authorization', t.masterAuth)
      .send({ username: 'alice', password: 'a-new-password' })
      .expect(200);
    await me(t, alice.auth).expect(401);
  });

  test.each([
    ['disabling (soft delete)', ''],
    ['deleting (hard)', '?hard=true'],
  ])('%s a user ends their cached sessions at once', async (_name, query) => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    await request(t.app).delete(`/user/${t.appKey}/${alice.id}${query}`).set('Authorization', t.masterAuth).expect(204);
    await me(t, alice.auth).expect(401);
  });

  test('token invalidation ends the cached sessions at once', async () => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    await request(t.app).delete(`/user/${t.appKey}/${alice.id}/tokens`).set('Authorization', alice.auth).expect(204);
    await me(t, alice.auth).expect(401);
  });

  test('removing the user collection ends every cached session of the app', async () => {
    const { t } = await start();
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    await request(t.app)
      .post(`/rpc/${t.appKey}/remove-collection`)
      .set('Authorization', t.masterAuth)
      .send({ collectionName: 'user' })
      .expect(200);
    await me(t, alice.auth).expect(401);
  });

  test('removing a user from a group takes their group access away on the next request', async () => {
    const { t } = await start({ collections: { notes: { permissions: 'private' } } });
    const alice = await createUser(t, 'alice');
    const readNote = () => request(t.app).get(`/appdata/${t.appKey}/notes/n1`).set('Authorization', alice.auth);
    const refused = async () => expect((await readNote().expect(401)).body.error).toBe('InsufficientCredentials');
    await request(t.app)
      .post(`/appdata/${t.appKey}/notes`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'n1', _acl: { groups: { r: ['editors'] } } })
      .expect(201);
    await refused();
    const group = { _id: 'editors', users: { list: [{ _type: 'KinveyRef', _collection: 'user', _id: alice.id }] } };
    await request(t.app).post(`/group/${t.appKey}`).set('Authorization', t.masterAuth).send(group).expect(201);
    await readNote().expect(200);
    await request(t.app)
      .put(`/group/${t.appKey}/editors`)
      .set('Authorization', t.masterAuth)
      .send({ users: { list: [] } })
      .expect(200);
    await refused();
  });

  test('a session ended elsewhere (another instance) is served at most the TTL longer', async () => {
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const { t } = await start({ clock: () => new Date(now) });
    const alice = await createUser(t, 'alice');
    await me(t, alice.auth).expect(200);
    // As another instance's logout would: the session goes from the store, this cache does not hear of it.
    await t.documents.deleteMany({ appKey: t.appKey, collection: '_session' }, {});
    now += 59_000;
    await me(t, alice.auth).expect(200);
    now += 1_001;
    await me(t, alice.auth).expect(401);
  });
});
