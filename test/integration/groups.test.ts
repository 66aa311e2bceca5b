/**
 * User groups (/group/:appKey) and what they grant through `_acl.groups` on a private collection.
 * Runs on both document stores. Each test gets a fresh app with alice, bob and carol, and a group
 * created by alice that lists alice and carol; its server-assigned id is `{team}` (only master
 * may choose a group id).
 */
import request from 'supertest';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

const ref = (collection: string, id: string) => ({ _type: 'KinveyRef', _collection: collection, _id: id });

async function seed(t: TestApp): Promise<ScenarioContext> {
  const [alice, bob, carol] = [await createUser(t, 'alice'), await createUser(t, 'bob'), await createUser(t, 'carol')];
  const team = await request(t.app)
    .post(`/group/${t.appKey}`)
    .set('Authorization', alice.auth)
    .send({ name: 'Team', users: { list: [ref('user', alice.id), ref('user', carol.id)] } });
  if (team.status !== 201) throw new Error(`group creation failed: ${team.status} ${JSON.stringify(team.body)}`);
  return {
    t,
    auth: { master: t.masterAuth, app: t.appAuth, alice: alice.auth, bob: bob.auth, carol: carol.auth },
    userIds: { alice: alice.id, bob: bob.id, carol: carol.id },
    vars: { team: team.body._id as string },
  };
}

const check = (fn: (b: Record<string, unknown>, ctx: ScenarioContext) => void) => (b: unknown, ctx: ScenarioContext) =>
  fn(b as Record<string, unknown>, ctx);

const SCENARIOS: Scenario[] = [
  {
    name: 'master creates a group: 201, Location, canonical references, master as creator',
    as: 'master',
    method: 'post',
    path: '/group/{app}',
    body: (ctx: ScenarioContext) => ({
      users: { all: false, list: [ref('user', ctx.userIds.bob!), ref('user', ctx.userIds.bob!)] },
      groups: [ref('group', 'team')],
    }),
    expect: {
      status: 201,
      headers: { location: /^\/group\/kid_[0-9a-f]+\/[0-9a-f]{24}$/ },
      check: check((b, ctx) => {
        expect(b).toMatchObject({
          users: { all: false, list: [ref('user', ctx.userIds.bob!)] },
          groups: [ref('group', 'team')],
          _acl: { creator: ctx.t.appKey },
        });
        expect(b._kmd).toEqual({ lmt: expect.any(String), ect: expect.any(String) });
      }),
    },
  },
  {
    name: 'a user creates a group and becomes its creator',
    as: 'bob',
    method: 'post',
    path: '/group/{app}',
    body: { users: { all: true } },
    expect: {
      status: 201,
      check: check((b, ctx) =>
        expect(b).toMatchObject({
          _id: expect.stringMatching(/^[0-9a-f]{24}$/),
          users: { all: true, list: [] },
          groups: [],
          _acl: { creator: ctx.userIds.bob },
        }),
      ),
    },
  },
  {
    name: 'a taken group _id is 409 EntityAlreadyExists',
    as: 'master',
    method: 'post',
    path: '/group/{app}',
    body: (ctx: ScenarioContext) => ({ _id: ctx.vars.team }),
    expect: { status: 409, error: 'EntityAlreadyExists' },
  },
  {
    name: 'a member list must hold user references',
    as: 'master',
    method: 'post',
    path: '/group/{app}',
    body: { users: { list: [ref('things', 'x')] } },
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'users.all must be a boolean',
    as: 'master',
    method: 'post',
    path: '/group/{app}',
    body: { users: { all: 'yes' } },
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'app credentials may not manage groups',
    as: 'app',
    method: 'post',
    path: '/group/{app}',
    body: {},
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'the creator reads the group',
    as: 'alice',
    method: 'get',
    path: '/group/{app}/{team}',
    expect: { status: 200, check: check((b, ctx) => expect(b).toMatchObject({ _id: ctx.vars.team, name: 'Team' })) },
  },
  { name: 'master reads the group', as: 'master', method: 'get', path: '/group/{app}/{team}', expect: { status: 200 } },
  {
    name: 'a member who did not create the group may not read it',
    as: 'carol',
    method: 'get',
    path: '/group/{app}/{team}',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'an unknown group is 404 EntityNotFound',
    as: 'master',
    method: 'get',
    path: '/group/{app}/nope',
    expect: { status: 404, error: 'EntityNotFound' },
  },
  {
    name: 'the creator replaces the group, keeping creator and ect',
    as: 'alice',
    method: 'put',
    path: '/group/{app}/{team}',
    body: { name: 'Renamed', users: { list: [] }, _acl: { creator: 'someone' } },
    expect: {
      status: 200,
      check: check((b, ctx) =>
        expect(b).toMatchObject({
          _id: ctx.vars.team,
          name: 'Renamed',
          users: { all: false, list: [] },
          _acl: { creator: ctx.userIds.alice },
        }),
      ),
    },
  },
  {
    name: 'another user may not replace the group',
    as: 'bob',
    method: 'put',
    path: '/group/{app}/{team}',
    body: { users: { all: true } },
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'replacing an unknown group is 404',
    as: 'master',
    method: 'put',
    path: '/group/{app}/nope',
    body: {},
    expect: { status: 404, error: 'EntityNotFound' },
  },
  {
    name: 'another user may not delete the group',
    as: 'bob',
    method: 'delete',
    path: '/group/{app}/{team}',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'the creator deletes the group',
    as: 'alice',
    method: 'delete',
    path: '/group/{app}/{team}',
    expect: { status: 200, count: 1 },
  },
  {
    name: 'deleting an unknown group is 404',
    as: 'master',
    method: 'delete',
    path: '/group/{app}/nope',
    expect: { status: 404, error: 'EntityNotFound' },
  },
];

describe.each(DOCUMENT_STORES)('groups on the %s store', (kind: DocumentsKind) => {
  let t: TestApp;
  let ctx: ScenarioContext;
  beforeEach(async () => {
    t = await startTestApp({ documents: kind, collections: { notes: { permissions: 'private' } } });
    ctx = await seed(t);
  });
  afterEach(async () => t.close());

  test.each(SCENARIOS)('$name', (scenario) => runScenario(scenario, ctx).then(() => undefined));

  describe('group squatting: no principal gains access by creating a group', () => {
    test('a user may not choose a group _id (an ACL naming a group that does not exist yet stays closed)', async () => {
      await request(t.app)
        .post(`/appdata/${t.appKey}/notes`)
        .set('Authorization', t.masterAuth)
        .send({ _id: 'for-admins', _acl: { groups: { r: ['admins'] } } })
        .expect(201);
      const squat = await request(t.app)
        .post(`/group/${t.appKey}`)
        .set('Authorization', ctx.auth.bob!)
        .send({ _id: 'admins', users: { list: [ref('user', ctx.userIds.bob!)] } });
      expect(squat.status).toBe(400);
      expect(squat.body.error).toBe('BadRequest');
      const read = await request(t.app)
        .get(`/appdata/${t.appKey}/notes/for-admins`)
        .set('Authorization', ctx.auth.bob!);
      expect(read.status).toBe(401);
    });

    test("a deleted group's id cannot be taken over by a user", async () => {
      await request(t.app)
        .post(`/group/${t.appKey}`)
        .set('Authorization', t.masterAuth)
        .send({ _id: 'staff', users: { list: [ref('user', ctx.userIds.alice!)] } })
        .expect(201);
      await request(t.app)
        .post(`/appdata/${t.appKey}/notes`)
        .set('Authorization', t.masterAuth)
        .send({ _id: 'for-staff', _acl: { groups: { r: ['staff'] } } })
        .expect(201);
      await request(t.app).delete(`/group/${t.appKey}/staff`).set('Authorization', t.masterAuth).expect(200);
      const squat = await request(t.app)
        .post(`/group/${t.appKey}`)
        .set('Authorization', ctx.auth.bob!)
        .send({ _id: 'staff', users: { list: [ref('user', ctx.userIds.bob!)] } });
      expect(squat.status).toBe(400);
      expect(
        (await request(t.app).get(`/appdata/${t.appKey}/notes/for-staff`).set('Authorization', ctx.auth.bob!)).status,
      ).toBe(401);
    });

    test('a user still creates groups with server-assigned ids', async () => {
      const made = await request(t.app)
        .post(`/group/${t.appKey}`)
        .set('Authorization', ctx.auth.bob!)
        .send({ users: { list: [ref('user', ctx.userIds.bob!)] } });
      expect(made.status).toBe(201);
      expect(made.body._id).toMatch(/^[0-9a-f]{24}$/);
    });
  });

  test('a deleted group cannot be read again', async () => {
    await request(t.app)
      .delete(`/group/${t.appKey}/${ctx.vars.team}`)
      .set('Authorization', ctx.auth.alice!)
      .expect(200);
    const res = await request(t.app).get(`/group/${t.appKey}/${ctx.vars.team}`).set('Authorization', t.masterAuth);
    expect(res.status).toBe(404);
  });

  describe('_acl.groups on a private collection', () => {
    const notes = (t: TestApp) => `/appdata/${t.appKey}/notes`;
    beforeEach(async () => {
      await request(t.app)
        .post(notes(t))
        .set('Authorization', t.masterAuth)
        .send({ _id: 'readable', _acl: { groups: { r: [ctx.vars.team] } } })
        .expect(201);
      await request(t.app)
        .post(notes(t))
        .set('Authorization', t.masterAuth)
        .send({ _id: 'writable', _acl: { groups: { w: [ctx.vars.team] } } })
        .expect(201);
      await request(t.app).post(notes(t)).set('Authorization', t.masterAuth).send({ _id: 'closed' }).expect(201);
    });
    const listIds = async (who: string) =>
      (await request(t.app).get(notes(t)).set('Authorization', ctx.auth[who]!)).body.map((d: { _id: string }) => d._id);

    test('members read what the group may read; others do not', async () => {
      expect(await listIds('alice')).toEqual(['readable', 'writable']);
      expect(await listIds('carol')).toEqual(['readable', 'writable']);
      expect(await listIds('bob')).toEqual([]);
      const denied = await request(t.app)
        .get(`${notes(t)}/readable`)
        .set('Authorization', ctx.auth.bob!);
      expect(denied.status).toBe(401);
      expect(denied.body.error).toBe('InsufficientCredentials');
    });

    test('members write only what the group may write', async () => {
      const put = (id: string) =>
        request(t.app)
          .put(`${notes(t)}/${id}`)
          .set('Authorization', ctx.auth.carol!)
          .send({ text: 'edited' });
      expect((await put('writable')).status).toBe(200);
      const denied = await put('readable');
      expect(denied.status).toBe(401);
      expect(denied.body.error).toBe('InsufficientCredentials');
    });

    test('membership changes apply to the next request of an existing session', async () => {
      await request(t.app)
        .put(`/group/${t.appKey}/${ctx.vars.team}`)
        .set('Authorization', ctx.auth.alice!)
        .send({ users: { list: [ref('user', ctx.userIds.bob!)] } })
        .expect(200);
      expect(await listIds('bob')).toEqual(['readable', 'writable']);
      expect(await listIds('carol')).toEqual([]);
    });

    test('a group with users.all includes every user', async () => {
      await request(t.app)
        .put(`/group/${t.appKey}/${ctx.vars.team}`)
        .set('Authorization', t.masterAuth)
        .send({ users: { all: true } })
        .expect(200);
      expect(await listIds('bob')).toEqual(['readable', 'writable']);
    });
  });
});
