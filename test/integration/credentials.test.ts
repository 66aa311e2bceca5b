/**
 * Every credential kind against every credential policy, as one table: which requests pass,
 * which are 401 InvalidCredentials (bad credentials: SDKs log the user out) and which are 401
 * InsufficientCredentials (valid but not allowed: SDKs keep the session).
 */
import request from 'supertest';
import { SessionStore } from '../../src/domain/sessions/session-store';
import { basic, startTestApp, type TestApp } from '../support/test-app';
import { createUser } from '../support/scenarios';

type Outcome = number | 'Invalid' | 'Insufficient';

interface Route {
  policy: string;
  method: 'get' | 'post';
  path: (t: TestApp, ids: Record<string, string>) => string;
  body?: object;
  ok: number;
}

/** One representative route per credential policy. */
const ROUTES: Record<string, Route> = {
  app: {
    policy: 'app',
    method: 'post',
    path: (t) => `/rpc/${t.appKey}/check-username-exists`,
    body: { username: 'alice' },
    ok: 200,
  },
  session: { policy: 'session', method: 'get', path: (t) => `/user/${t.appKey}/_me`, ok: 200 },
  sessionOrMaster: { policy: 'session-or-master', method: 'get', path: (t) => `/user/${t.appKey}/_count`, ok: 200 },
  data: { policy: 'session-or-master (appdata)', method: 'get', path: (t) => `/appdata/${t.appKey}/things`, ok: 200 },
  master: { policy: 'master', method: 'post', path: (t, ids) => `/user/${t.appKey}/${ids.alice}/_restore`, ok: 204 },
  any: { policy: 'any (ping)', method: 'get', path: (t) => `/appdata/${t.appKey}`, ok: 200 },
};

interface Credential {
  name: string;
  header: (t: TestApp, c: Creds) => string | undefined;
  apiVersion?: { name: string; value: string };
  /** Outcome per route; missing routes share `others`. */
  expect: Partial<Record<keyof typeof ROUTES, Outcome>> & { others: Outcome };
}

interface Creds {
  session: string;
  loggedOut: string;
  expired: string;
}

const OK = 0; // placeholder: the route's own success status

const CREDENTIALS: Credential[] = [
  { name: 'master secret', header: (t) => t.masterAuth, expect: { session: 'Insufficient', others: OK } },
  { name: 'app secret', header: (t) => t.appAuth, expect: { app: OK, any: OK, others: 'Insufficient' } },
  {
    name: 'session token',
    header: (_t, c) => c.session,
    expect: { app: 'Insufficient', master: 'Insufficient', others: OK },
  },
  {
    name: 'session token, scheme in lower case',
    header: (_t, c) => c.session.replace('Kinvey', 'kinvey'),
    expect: { app: 'Insufficient', master: 'Insufficient', others: OK },
  },
  {
    name: 'Basic username:password in API 5',
    header: () => basic('alice', 'pw-alice-secret'),
    apiVersion: { name: 'X-Kinvey-API-Version', value: '5' },
    expect: { app: 'Insufficient', master: 'Insufficient', others: OK },
  },
  {
    name: 'Basic username:password in API 5, header name in odd case',
    header: () => basic('alice', 'pw-alice-secret'),
    apiVersion: { name: 'x-KINVEY-api-version', value: '5' },
    expect: { app: 'Insufficient', master: 'Insufficient', others: OK },
  },
  {
    name: 'Basic username:password in API 6',
    header: () => basic('alice', 'pw-alice-secret'),
    apiVersion: { name: 'X-Kinvey-Api-Version', value: '6' },
    expect: { others: 'Invalid' },
  },
  {
    name: 'Basic username:password without a version header (means 6)',
    header: () => basic('alice', 'pw-alice-secret'),
    expect: { others: 'Invalid' },
  },
  {
    name: 'Basic username with a wrong password in API 5',
    header: () => basic('alice', 'wrong'),
    apiVersion: { name: 'X-Kinvey-API-Version', value: '5' },
    expect: { others: 'Invalid' },
  },
  { name: 'a wrong app secret', header: (t) => basic(t.appKey, `${t.appSecret}x`), expect: { others: 'Invalid' } },
  {
    name: 'a wrong master secret',
    header: (t) => basic(t.appKey, `x${t.masterSecret}`),
    expect: { others: 'Invalid' },
  },
  {
    name: "another app key with this app's secret",
    header: (t) => basic('kid_other', t.appSecret),
    expect: { others: 'Invalid' },
  },
  { name: 'an unknown session token', header: () => 'Kinvey bm90LWEtdG9rZW4', expect: { others: 'Invalid' } },
  { name: 'an empty session token', header: () => 'Kinvey ', expect: { others: 'Invalid' } },
  { name: 'a logged-out session token', header: (_t, c) => c.loggedOut, expect: { others: 'Invalid' } },
  { name: 'an expired session token', header: (_t, c) => c.expired, expect: { others: 'Invalid' } },
  {
    name: 'malformed Basic credentials',
    header: () => `Basic ${Buffer.from('no-colon').toString('base64')}`,
    expect: { others: 'Invalid' },
  },
  { name: 'an unknown scheme', header: (t) => `Bearer ${t.appSecret}`, expect: { others: 'Invalid' } },
  { name: 'no Authorization header', header: () => undefined, expect: { others: 'Invalid' } },
];

const cases = CREDENTIALS.flatMap((credential) =>
  Object.keys(ROUTES).map((route) => [credential.name, route, credential] as const),
);

describe('credential kinds x credential policies', () => {
  let t: TestApp;
  let creds: Creds;
  let ids: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp();
    const alice = await createUser(t, 'alice');
    const bob = await createUser(t, 'bob');
    await request(t.app).post(`/user/${t.appKey}/_logout`).set('Authorization', bob.auth).expect(204);
    // A session issued 31 days ago through the real session store: past its 30-day lifetime.
    const past = () => new Date(Date.now() - 31 * 24 * 3600 * 1000);
    const expired = await new SessionStore(t.documents, { clock: past }).issue(t.appKey, {
      userId: alice.id,
      username: 'alice',
    });
    creds = { session: alice.auth, loggedOut: bob.auth, expired: `Kinvey ${expired}` };
    ids = { alice: alice.id };
  });
  afterAll(async () => t.close());

  test.each(cases)('%s on the %s route', async (_name, routeName, credential) => {
    const route = ROUTES[routeName]!;
    let req = request(t.app)[route.method](route.path(t, ids));
    const header = credential.header(t, creds);
    if (header !== undefined) req = req.set('Authorization', header);
    if (credential.apiVersion) req = req.set(credential.apiVersion.name, credential.apiVersion.value);
    const res = route.body ? await req.send(route.body) : await req;

    const outcome = credential.expect[routeName] ?? credential.expect.others;
    if (outcome === OK) {
      expect({ status: res.status, body: res.body }).toMatchObject({ status: route.ok });
    } else if (outcome === 'Invalid' || outcome === 'Insufficient') {
      expect({ status: res.status, body: res.body }).toMatchObject({
        status: 401,
        body: { error: `${outcome}Credentials`, description: expect.any(String), debug: expect.any(String) },
      });
    }
  });
});

describe('credentials at the edges', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => t.close());

  test('a token issued by one app is unknown to another', async () => {
    const other = await startTestApp();
    try {
      const alice = await createUser(t, 'alice');
      const res = await request(other.app).get(`/user/${other.appKey}/_me`).set('Authorization', alice.auth);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('InvalidCredentials');
    } finally {
      await other.close();
    }
  });

  test('Basic user credentials act as the user but carry no token to echo', async () => {
    await createUser(t, 'alice');
    const res = await request(t.app)
      .get(`/user/${t.appKey}/_me`)
      .set('Authorization', basic('alice', 'pw-alice-secret'))
      .set('X-Kinvey-API-Version', '4');
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('alice');
    expect(res.body._kmd).not.toHaveProperty('authtoken');
  });

  test("a soft-deleted user's Basic credentials stop working", async () => {
    const alice = await createUser(t, 'alice');
    await request(t.app).delete(`/user/${t.appKey}/${alice.id}`).set('Authorization', t.masterAuth).expect(204);
    const res = await request(t.app)
      .get(`/user/${t.appKey}/_me`)
      .set('Authorization', basic('alice', 'pw-alice-secret'))
      .set('X-Kinvey-API-Version', '5');
    expect(res.body.error).toBe('InvalidCredentials');
  });

  test('a session token on an unknown app is 404 AppNotFound, not a credential error', async () => {
    const alice = await createUser(t, 'alice');
    const res = await request(t.app).get('/user/kid_unknown/_me').set('Authorization', alice.auth);
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('AppNotFound');
  });
});
