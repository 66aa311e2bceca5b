/**
 * The user API (/user/:appKey) and the user rpc helpers as tables of request -> expected response.
 * Every test gets a fresh app with the users alice (email alice@example.com, custom field city)
 * and bob; the tables run on both document stores.
 */
import request from 'supertest';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

const HEX24 = /^[0-9a-f]{24}$/;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** No response may carry a password (except the signup answer, with the one sent or generated) or a hash. */
function expectNoSecrets(body: unknown): void {
  const text = JSON.stringify(body ?? null);
  expect(text).not.toMatch(/"password"/);
  expect(text).not.toMatch(/scrypt\$|"hash"/);
}

async function seed(t: TestApp): Promise<ScenarioContext> {
  const alice = await createUser(t, 'alice', { email: 'alice@example.com', city: 'Berlin' });
  const bob = await createUser(t, 'bob', {
    email: 'bob@example.com',
    city: 'Paris',
    _socialIdentity: { facebook: { id: 'fb-bob', access_token: 'secret' } },
  });
  return {
    t,
    auth: { master: t.masterAuth, app: t.appAuth, alice: alice.auth, bob: bob.auth },
    userIds: { alice: alice.id, bob: bob.id },
    vars: {},
  };
}

const body =
  (check: (b: Record<string, unknown>, ctx: ScenarioContext) => void) => (b: unknown, ctx: ScenarioContext) =>
    check(b as Record<string, unknown>, ctx);
const tokenOf = (ctx: ScenarioContext, name: string) => ctx.auth[name]!.replace(/^Kinvey /, '');

const SCENARIOS: Scenario[] = [
  // Signup
  {
    name: 'signup returns 201, a Location, server fields, the password sent and no token in API 6',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'carol', password: 'pw-carol', email: 'c@example.com', level: 3 },
    expect: {
      status: 201,
      headers: { location: /^\/user\/kid_[0-9a-f]+\/[0-9a-f]{24}$/ },
      check: body((b, ctx) => {
        expect(b).toMatchObject({
          username: 'carol',
          email: 'c@example.com',
          level: 3,
          _id: expect.stringMatching(HEX24),
        });
        expect(b._acl).toEqual({ creator: b._id });
        expect(b._kmd).toEqual({ lmt: expect.stringMatching(ISO_MS), ect: expect.stringMatching(ISO_MS) });
        expect(b.password).toBe('pw-carol');
        expect(ctx.t.appKey).toBeTruthy();
      }),
    },
  },
  {
    name: 'signup in API 5 also logs the user in',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    headers: { 'X-Kinvey-API-Version': '5' },
    body: { username: 'carol', password: 'pw' },
    expect: {
      status: 201,
      check: body((b) => expect((b._kmd as Record<string, unknown>).authtoken).toEqual(expect.any(String))),
    },
  },
  {
    name: 'signup never takes _id, _kmd or _acl.creator from the body',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: {
      username: 'carol',
      password: 'pw',
      _id: 'chosen',
      _kmd: { lmt: '2000-01-01T00:00:00.000Z', authtoken: 'x' },
      _acl: { creator: 'someone', gr: true },
    },
    expect: {
      status: 201,
      check: body((b) => {
        expect(b._id).toMatch(HEX24);
        expect(b._acl).toEqual({ creator: b._id, gr: true });
        expect(b._kmd).not.toHaveProperty('authtoken');
        expect((b._kmd as Record<string, string>).lmt).not.toBe('2000-01-01T00:00:00.000Z');
      }),
    },
  },
  {
    name: 'signup without a password generates one and returns it',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'carol' },
    expect: { status: 201, check: body((b) => expect(b.password).toEqual(expect.any(String))) },
  },
  {
    name: 'signup with password null generates one and returns it (was 400 "user.password must be string")',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'carol', password: null },
    expect: {
      status: 201,
      check: body((b) => {
        expect(b.password).toEqual(expect.any(String));
        expect(b.password).not.toBe('null');
      }),
    },
  },
  {
    name: 'signup with username null and password null generates both',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: null, password: null },
    expect: {
      status: 201,
      check: body((b) => {
        expect(b.username).toEqual(expect.any(String));
        expect(b.password).toEqual(expect.any(String));
      }),
    },
  },
  {
    name: 'signup with a password but no username generates the username and returns the password sent',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { password: 'pw' },
    expect: {
      status: 201,
      check: body((b) => {
        expect(b.username).toEqual(expect.any(String));
        expect(b.password).toBe('pw');
      }),
    },
  },
  {
    name: 'a taken username is 409 UserAlreadyExists',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'alice', password: 'x' },
    expect: { status: 409, error: 'UserAlreadyExists' },
  },
  {
    name: 'master credentials may sign up users',
    as: 'master',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'carol', password: 'x' },
    expect: { status: 201 },
  },
  {
    name: 'a session may not sign up users',
    as: 'alice',
    method: 'post',
    path: '/user/{app}',
    body: { username: 'carol', password: 'x' },
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'a non-string username is 400 BadRequest',
    as: 'app',
    method: 'post',
    path: '/user/{app}',
    body: { username: 7, password: 'x' },
    expect: { status: 400, error: 'BadRequest' },
  },

  // Login
  {
    name: 'login returns the user with _kmd.authtoken and _kmd.llt',
    as: 'app',
    method: 'post',
    path: '/user/{app}/login',
    body: { username: 'alice', password: 'pw-alice-secret' },
    expect: {
      status: 200,
      check: body((b, ctx) => {
        expect(b).toMatchObject({
          _id: ctx.userIds.alice,
          username: 'alice',
          city: 'Berlin',
          _acl: { creator: ctx.userIds.alice },
        });
        expect(b._kmd).toMatchObject({
          authtoken: expect.any(String),
          llt: expect.stringMatching(ISO_MS),
          lmt: expect.stringMatching(ISO_MS),
        });
      }),
    },
  },
  {
    name: 'a wrong password is 401 InvalidCredentials',
    as: 'app',
    method: 'post',
    path: '/user/{app}/login',
    body: { username: 'alice', password: 'nope' },
    expect: { status: 401, error: 'InvalidCredentials' },
  },
  {
    name: 'an unknown user is 401 InvalidCredentials',
    as: 'app',
    method: 'post',
    path: '/user/{app}/login',
    body: { username: 'nobody', password: 'nope' },
    expect: { status: 401, error: 'InvalidCredentials' },
  },
  {
    name: 'login without a password is 400 IncompleteRequestBody',
    as: 'app',
    method: 'post',
    path: '/user/{app}/login',
    body: { username: 'alice' },
    expect: { status: 400, error: 'IncompleteRequestBody' },
  },
  {
    name: 'login with a session is 401 InsufficientCredentials',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/login',
    body: { username: 'alice', password: 'pw-alice-secret' },
    expect: { status: 401, error: 'InsufficientCredentials' },
  },

  // _me
  {
    name: '_me returns the caller with a _kmd object and, in API 6, no token',
    as: 'alice',
    method: 'get',
    path: '/user/{app}/_me',
    expect: {
      status: 200,
      check: body((b, ctx) => {
        expect(b).toMatchObject({ _id: ctx.userIds.alice, username: 'alice' });
        expect(b._kmd).not.toHaveProperty('authtoken');
      }),
    },
  },
  {
    name: "_me in API 5 echoes the caller's token",
    as: 'alice',
    method: 'get',
    path: '/user/{app}/_me',
    headers: { 'X-Kinvey-API-Version': '5' },
    expect: {
      status: 200,
      check: body((b, ctx) => expect(b._kmd).toMatchObject({ authtoken: tokenOf(ctx, 'alice') })),
    },
  },
  {
    name: '_me shows the owner their own _socialIdentity',
    as: 'bob',
    method: 'get',
    path: '/user/{app}/_me',
    expect: {
      status: 200,
      check: body((b) => expect(b._socialIdentity).toEqual({ facebook: { id: 'fb-bob', access_token: 'secret' } })),
    },
  },
  {
    name: '_me with master credentials is 401 InsufficientCredentials',
    as: 'master',
    method: 'get',
    path: '/user/{app}/_me',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },

  // Reads and queries
  {
    name: 'a user reads another user, without their _socialIdentity',
    as: 'alice',
    method: 'get',
    path: '/user/{app}/{bob}',
    expect: {
      status: 200,
      check: body((b) => {
        expect(b).toMatchObject({ username: 'bob', city: 'Paris' });
        expect(b).not.toHaveProperty('_socialIdentity');
      }),
    },
  },
  {
    name: 'master reads a user',
    as: 'master',
    method: 'get',
    path: '/user/{app}/{alice}',
    expect: { status: 200, check: body((b) => expect(b.username).toBe('alice')) },
  },
  {
    name: 'an unknown user id is 404 UserNotFound',
    as: 'alice',
    method: 'get',
    path: '/user/{app}/nobody',
    expect: { status: 404, error: 'UserNotFound' },
  },
  {
    name: 'app credentials may not read users',
    as: 'app',
    method: 'get',
    path: '/user/{app}/{alice}',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'a user query uses the appdata query language',
    as: 'alice',
    method: 'get',
    path: '/user/{app}/',
    query: { query: { city: 'Paris' } },
    expect: {
      status: 200,
      check: body((b, ctx) => expect((b as unknown as { _id: string }[]).map((u) => u._id)).toEqual([ctx.userIds.bob])),
    },
  },
  {
    name: 'user queries sort and limit',
    as: 'bob',
    method: 'get',
    path: '/user/{app}',
    query: { sort: { username: -1 }, limit: '1', fields: 'username' },
    expect: { status: 200, check: body((b) => expect(b).toEqual([expect.objectContaining({ username: 'bob' })])) },
  },
  {
    name: 'a forbidden operator in a user query is 400 InvalidQuerySyntax',
    as: 'alice',
    method: 'get',
    path: '/user/{app}',
    query: { query: { $where: 'true' } },
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: '_count counts users',
    as: 'alice',
    method: 'get',
    path: '/user/{app}/_count',
    expect: { status: 200, count: 2 },
  },
  {
    name: '_count takes a query',
    as: 'master',
    method: 'get',
    path: '/user/{app}/_count',
    query: { query: { city: 'Berlin' } },
    expect: { status: 200, count: 1 },
  },

  // _lookup
  {
    name: '_lookup returns public projections of the matching users',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_lookup',
    body: { username: 'bob' },
    expect: {
      status: 200,
      check: body((b, ctx) => expect(b).toEqual([{ _id: ctx.userIds.bob, username: 'bob', email: 'bob@example.com' }])),
    },
  },
  {
    name: '_lookup sanitises the filter',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_lookup',
    body: { $where: 'true' },
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },

  // Updates
  {
    name: "a self-update replaces custom fields and echoes the caller's token",
    as: 'alice',
    method: 'put',
    path: '/user/{app}/{alice}',
    body: { username: 'alice', city: 'Hamburg', _kmd: { lmt: 'x', ect: 'y' }, _acl: { creator: 'someone' } },
    expect: {
      status: 200,
      check: body((b, ctx) => {
        expect(b).toMatchObject({
          _id: ctx.userIds.alice,
          username: 'alice',
          city: 'Hamburg',
          _acl: { creator: ctx.userIds.alice },
        });
        expect(b).not.toHaveProperty('email');
        expect(b._kmd).toMatchObject({
          authtoken: tokenOf(ctx, 'alice'),
          lmt: expect.stringMatching(ISO_MS),
          ect: expect.stringMatching(ISO_MS),
        });
      }),
    },
  },
  {
    name: 'a user may not update another user',
    as: 'alice',
    method: 'put',
    path: '/user/{app}/{bob}',
    body: { username: 'bob', city: 'Rome' },
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'master updates any user, without a token in the response',
    as: 'master',
    method: 'put',
    path: '/user/{app}/{bob}',
    body: { city: 'Rome' },
    expect: {
      status: 200,
      check: body((b) => {
        expect(b).toMatchObject({ username: 'bob', city: 'Rome' });
        expect(b._kmd).not.toHaveProperty('authtoken');
      }),
    },
  },
  {
    name: 'renaming to a taken username is 409 UserAlreadyExists',
    as: 'alice',
    method: 'put',
    path: '/user/{app}/{alice}',
    body: { username: 'bob' },
    expect: { status: 409, error: 'UserAlreadyExists' },
  },
  {
    name: 'updating an unknown user is 404 UserNotFound',
    as: 'master',
    method: 'put',
    path: '/user/{app}/nobody',
    body: { city: 'Rome' },
    expect: { status: 404, error: 'UserNotFound' },
  },
  {
    name: 'an update body must be an object',
    as: 'alice',
    method: 'put',
    path: '/user/{app}/{alice}',
    body: [1],
    expect: { status: 400, error: 'BadRequest' },
  },

  // Deletion and restore
  {
    name: 'a user may not delete users',
    as: 'alice',
    method: 'delete',
    path: '/user/{app}/{bob}',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'deleting an unknown user is 404 UserNotFound',
    as: 'master',
    method: 'delete',
    path: '/user/{app}/nobody',
    expect: { status: 404, error: 'UserNotFound' },
  },
  {
    name: 'master soft-deletes a user',
    as: 'master',
    method: 'delete',
    path: '/user/{app}/{bob}',
    expect: { status: 204 },
  },
  {
    name: 'restoring an unknown user is 404 UserNotFound',
    as: 'master',
    method: 'post',
    path: '/user/{app}/nobody/_restore',
    expect: { status: 404, error: 'UserNotFound' },
  },
  {
    name: 'a user may not restore users',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/{bob}/_restore',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },

  // Token invalidation
  {
    name: "a user may not invalidate another user's tokens",
    as: 'alice',
    method: 'delete',
    path: '/user/{app}/{bob}/tokens',
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'invalidating the tokens of an unknown user is 404 UserNotFound',
    as: 'master',
    method: 'delete',
    path: '/user/{app}/nobody/tokens',
    expect: { status: 404, error: 'UserNotFound' },
  },

  // rpc helpers
  {
    name: 'check-username-exists finds a user',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/check-username-exists',
    body: { username: 'alice' },
    expect: { status: 200, check: body((b) => expect(b).toEqual({ usernameExists: true })) },
  },
  {
    name: 'check-username-exists is case-sensitive',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/check-username-exists',
    body: { username: 'Alice' },
    expect: { status: 200, check: body((b) => expect(b).toEqual({ usernameExists: false })) },
  },
  {
    name: 'check-username-exists needs a username',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/check-username-exists',
    body: {},
    expect: { status: 400, error: 'IncompleteRequestBody' },
  },
  {
    name: 'the rpc helpers refuse sessions',
    as: 'alice',
    method: 'post',
    path: '/rpc/{app}/check-username-exists',
    body: { username: 'alice' },
    expect: { status: 401, error: 'InsufficientCredentials' },
  },
  {
    name: 'a password reset for an unknown user still answers 204',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/nobody/user-password-reset-initiate',
    expect: { status: 204 },
  },
  {
    name: 'forgot-username answers 204',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/user-forgot-username',
    body: { email: 'alice@example.com' },
    expect: { status: 204 },
  },
  {
    name: 'forgot-username needs an email',
    as: 'app',
    method: 'post',
    path: '/rpc/{app}/user-forgot-username',
    body: {},
    expect: { status: 400, error: 'IncompleteRequestBody' },
  },
];

const send = (t: TestApp, auth: string) => ({
  get: (path: string, headers: Record<string, string> = {}) =>
    request(t.app)
      .get(path)
      .set({ Authorization: auth, ...headers }),
  post: (path: string, body?: object) =>
    body === undefined
      ? request(t.app).post(path).set('Authorization', auth)
      : request(t.app).post(path).set('Authorization', auth).send(body),
});

describe.each(DOCUMENT_STORES)('users on the %s store', (kind: DocumentsKind) => {
  let t: TestApp;
  let ctx: ScenarioContext;
  beforeEach(async () => {
    t = await startTestApp({ documents: kind });
    ctx = await seed(t);
  });
  afterEach(async () => t.close());

  test.each(SCENARIOS)('$name', async (scenario) => {
    const responseBody = await runScenario(scenario, ctx);
    // Only the signup answer carries the password (the one sent or generated).
    if (!(scenario.method === 'post' && scenario.path === '/user/{app}' && scenario.expect.status === 201))
      expectNoSecrets(responseBody);
  });

  test('a soft-deleted user vanishes from reads, cannot log in, loses its sessions, keeps its username, and can be restored', async () => {
    const { alice, bob, master, app } = ctx.auth as Record<'alice' | 'bob' | 'master' | 'app', string>;
    const u = `/user/${t.appKey}`;
    expect((await request(t.app).delete(`${u}/${ctx.userIds.bob}`).set('Authorization', master)).status).toBe(204);

    expect((await send(t, alice).get(`${u}/${ctx.userIds.bob}`)).body.error).toBe('UserNotFound');
    expect((await send(t, alice).get(u)).body.map((x: { username: string }) => x.username)).toEqual(['alice']);
    expect((await send(t, alice).get(`${u}/_count`)).body).toEqual({ count: 1 });
    expect((await send(t, alice).post(`${u}/_lookup`, { username: 'bob' })).body).toEqual([]);
    expect((await send(t, bob).get(`${u}/_me`)).body.error).toBe('InvalidCredentials');
    expect((await send(t, app).post(`${u}/login`, { username: 'bob', password: 'pw-bob-secret' })).body.error).toBe(
      'InvalidCredentials',
    );
    expect((await send(t, app).post(`/rpc/${t.appKey}/check-username-exists`, { username: 'bob' })).body).toEqual({
      usernameExists: true,
    });
    expect((await send(t, app).post(u, { username: 'bob', password: 'x' })).status).toBe(409);

    expect((await send(t, master).post(`${u}/${ctx.userIds.bob}/_restore`)).status).toBe(204);
    expect((await send(t, alice).get(`${u}/${ctx.userIds.bob}`)).body).toMatchObject({
      username: 'bob',
      city: 'Paris',
    });
    const login = await send(t, app).post(`${u}/login`, { username: 'bob', password: 'pw-bob-secret' });
    expect(login.status).toBe(200);
    expect(login.body._kmd).not.toHaveProperty('status');
  });

  test("a second soft delete of a disabled user is 204 and leaves it disabled as it was (kinvey-js-sdk's own tests delete one twice); a hard delete still removes it", async () => {
    const { master, app } = ctx.auth as Record<'master' | 'app', string>;
    const u = `/user/${t.appKey}`;
    expect((await request(t.app).delete(`${u}/${ctx.userIds.bob}`).set('Authorization', master)).status).toBe(204);
    const statusOf = async () =>
      (await send(t, master).get(`${u}?includeDisabled=true&query=${encodeURIComponent('{"username":"bob"}')}`)).body[0]
        ?._kmd?.status;
    const disabled = await statusOf();
    expect(disabled).toEqual({ val: 'disabled', lastChange: expect.any(String) });
    const again = await request(t.app).delete(`${u}/${ctx.userIds.bob}`).set('Authorization', master);
    expect(again.status).toBe(204);
    expect(await statusOf()).toEqual(disabled);
    expect((await send(t, app).post(`/rpc/${t.appKey}/check-username-exists`, { username: 'bob' })).body).toEqual({
      usernameExists: true,
    });
    const unknown = await request(t.app).delete(`${u}/nobody`).set('Authorization', master);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('UserNotFound');
    expect(
      (await request(t.app).delete(`${u}/${ctx.userIds.bob}`).query({ hard: 'true' }).set('Authorization', master))
        .status,
    ).toBe(204);
    expect((await send(t, app).post(`/rpc/${t.appKey}/check-username-exists`, { username: 'bob' })).body).toEqual({
      usernameExists: false,
    });
  });

  test('master sees soft-deleted users with includeDisabled=true, a user asking the same does not', async () => {
    const { alice, master } = ctx.auth as Record<'alice' | 'master', string>;
    const u = `/user/${t.appKey}`;
    expect((await request(t.app).delete(`${u}/${ctx.userIds.bob}`).set('Authorization', master)).status).toBe(204);
    const listed = await send(t, master).get(`${u}?includeDisabled=true&sort=${encodeURIComponent('{"username":1}')}`);
    expect(
      listed.body.map((x: { username: string; _kmd: { status?: { val: string } } }) => [
        x.username,
        x._kmd.status?.val,
      ]),
    ).toEqual([
      ['alice', undefined],
      ['bob', 'disabled'],
    ]);
    expectNoSecrets(listed.body);
    expect((await send(t, master).get(`${u}/_count?includeDisabled=true`)).body).toEqual({ count: 2 });
    expect((await send(t, master).get(`${u}/_count`)).body).toEqual({ count: 1 });
    expect(
      (await send(t, alice).get(`${u}?includeDisabled=true`)).body.map((x: { username: string }) => x.username),
    ).toEqual(['alice']);
    expect((await send(t, alice).get(`${u}/_count?includeDisabled=true`)).body).toEqual({ count: 1 });
  });

  test('a hard delete removes the user and frees the username', async () => {
    const { master, app } = ctx.auth as Record<'alice' | 'bob' | 'master' | 'app', string>;
    const u = `/user/${t.appKey}`;
    expect(
      (await request(t.app).delete(`${u}/${ctx.userIds.bob}`).query({ hard: 'true' }).set('Authorization', master))
        .status,
    ).toBe(204);
    expect((await send(t, app).post(`/rpc/${t.appKey}/check-username-exists`, { username: 'bob' })).body).toEqual({
      usernameExists: false,
    });
    expect((await send(t, master).post(`${u}/${ctx.userIds.bob}/_restore`)).status).toBe(404);
    expect((await send(t, ctx.auth.bob!).get(`${u}/_me`)).status).toBe(401);
    expect((await send(t, app).post(u, { username: 'bob', password: 'new' })).status).toBe(201);
  });

  test('logout invalidates exactly the session it was sent with', async () => {
    const u = `/user/${t.appKey}`;
    const second = await send(t, t.appAuth).post(`${u}/login`, { username: 'alice', password: 'pw-alice-secret' });
    const res = await send(t, ctx.auth.alice!).post(`${u}/_logout`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const after = await send(t, ctx.auth.alice!).get(`${u}/_me`);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('InvalidCredentials');
    expect((await send(t, `Kinvey ${second.body._kmd.authtoken}`).get(`${u}/_me`)).status).toBe(200);
  });

  test('DELETE /:id/tokens ends every session of the user, by the user or master', async () => {
    const u = `/user/${t.appKey}`;
    const second = `Kinvey ${(await send(t, t.appAuth).post(`${u}/login`, { username: 'alice', password: 'pw-alice-secret' })).body._kmd.authtoken}`;
    expect(
      (await request(t.app).delete(`${u}/${ctx.userIds.alice}/tokens`).set('Authorization', ctx.auth.alice!)).status,
    ).toBe(204);
    expect((await send(t, ctx.auth.alice!).get(`${u}/_me`)).status).toBe(401);
    expect((await send(t, second).get(`${u}/_me`)).status).toBe(401);

    expect(
      (await request(t.app).delete(`${u}/${ctx.userIds.bob}/tokens`).set('Authorization', t.masterAuth)).status,
    ).toBe(204);
    expect((await send(t, ctx.auth.bob!).get(`${u}/_me`)).body.error).toBe('InvalidCredentials');
  });

  test('a password change takes effect at the next login', async () => {
    const u = `/user/${t.appKey}`;
    const res = await request(t.app)
      .put(`${u}/${ctx.userIds.alice}`)
      .set('Authorization', ctx.auth.alice!)
      .send({ username: 'alice', password: 'changed' });
    expect(res.status).toBe(200);
    expectNoSecrets(res.body);
    expect(
      (await send(t, t.appAuth).post(`${u}/login`, { username: 'alice', password: 'pw-alice-secret' })).status,
    ).toBe(401);
    expect((await send(t, t.appAuth).post(`${u}/login`, { username: 'alice', password: 'changed' })).status).toBe(200);
    // The session used for the change keeps working.
    expect((await send(t, ctx.auth.alice!).get(`${u}/_me`)).status).toBe(200);
  });

  test('a renamed user logs in with the new name and its session reports it', async () => {
    const u = `/user/${t.appKey}`;
    expect(
      (
        await request(t.app)
          .put(`${u}/${ctx.userIds.alice}`)
          .set('Authorization', ctx.auth.alice!)
          .send({ username: 'alicia' })
      ).status,
    ).toBe(200);
    expect(
      (await send(t, t.appAuth).post(`${u}/login`, { username: 'alicia', password: 'pw-alice-secret' })).status,
    ).toBe(200);
    expect(
      (await send(t, t.appAuth).post(`/rpc/${t.appKey}/check-username-exists`, { username: 'alice' })).body,
    ).toEqual({ usernameExists: false });
    expect((await send(t, ctx.auth.alice!).get(`${u}/_me`)).body.username).toBe('alicia');
  });

  test('no user can sign up as, or rename themselves to, the app key (what hooks see as the app itself)', async () => {
    const u = `/user/${t.appKey}`;
    const signup = await send(t, t.appAuth).post(u, { username: t.appKey, password: 'pw-posing-secret' });
    expect(signup.status).toBe(409);
    expect(signup.body.error).toBe('UserAlreadyExists');
    const rename = await request(t.app)
      .put(`${u}/${ctx.userIds.bob}`)
      .set('Authorization', ctx.auth.bob!)
      .send({ username: t.appKey });
    expect(rename.status).toBe(409);
    expect(
      (await send(t, t.appAuth).post(`/rpc/${t.appKey}/check-username-exists`, { username: t.appKey })).body,
    ).toEqual({ usernameExists: false });
  });
});

describe('signup without credentials in the body (embedded store)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => t.close());

  test.each([
    ['no body at all', (r: request.Test) => r],
    ['the JSON body null', (r: request.Test) => r.set('Content-Type', 'application/json').send('null')],
    ['an empty JSON object', (r: request.Test) => r.send({})],
  ])('%s creates an implicit user whose generated credentials log in', async (_name, withBody) => {
    const res = await withBody(
      request(t.app).post(`/user/${t.appKey}`).set('Authorization', t.appAuth).set('Content-Type', 'application/json'),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      _id: expect.stringMatching(HEX24),
      username: expect.any(String),
      password: expect.any(String),
    });
    expect(res.headers.location).toBe(`/user/${t.appKey}/${res.body._id}`);
    const login = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: res.body.username, password: res.body.password });
    expect(login.status).toBe(200);
    expectNoSecrets(login.body);
  });

  test('unknown users and wrong passwords get the same answer', async () => {
    await createUser(t, 'alice');
    const attempt = (username: string) =>
      request(t.app)
        .post(`/user/${t.appKey}/login`)
        .set('Authorization', t.appAuth)
        .send({ username, password: 'wrong' });
    const [wrong, unknown] = await Promise.all([attempt('alice'), attempt('nobody')]);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  test('the e-mail verification and password reset flows record their state in _kmd', async () => {
    const alice = await createUser(t, 'alice', { email: 'alice@example.com' });
    const rpc = (path: string) => request(t.app).post(`/rpc/${t.appKey}/${path}`).set('Authorization', t.appAuth);
    expect((await rpc('alice/user-email-verification-initiate')).status).toBe(204);
    expect((await rpc('alice@example.com/user-password-reset-initiate')).status).toBe(204);
    expect((await rpc('user-forgot-username').send({ email: 'alice@example.com' })).status).toBe(204);
    const me = await request(t.app).get(`/user/${t.appKey}/_me`).set('Authorization', alice.auth);
    expect(me.body._kmd).toMatchObject({
      emailVerification: {
        status: 'sent',
        emailAddress: 'alice@example.com',
        lastStateChangeAt: expect.stringMatching(ISO_MS),
      },
      passwordReset: { status: 'InProgress', lastStateChangeAt: expect.stringMatching(ISO_MS) },
    });
  });

  test('the stores never hold a password or a session token in clear text', async () => {
    const alice = await createUser(t, 'alice');
    const token = alice.auth.replace('Kinvey ', '');
    const stored = await Promise.all(
      ['user', '_credential', '_session'].map((collection) => t.documents.find({ appKey: t.appKey, collection }, {})),
    );
    expect(stored.map((docs) => docs.length)).toEqual([1, 1, 1]);
    expect(JSON.stringify(stored)).not.toContain('pw-alice-secret');
    expect(JSON.stringify(stored)).not.toContain(token);
  });
});
