/**
 * Every credential kind on every route goes through the same login pipeline. Basic user
 * credentials (`Basic base64(username:password)` on API 5) used to be checked by the password
 * alone: a user with MFA on was let in on every route (private entities read, recovery codes
 * minted, the authenticator deleted, a new password set), `onPreLogin` hooks never ran, and the
 * per-client login limit never counted. Now Basic is proved like a login: the login hooks, the
 * throttle by username and client address, and the second factor (a user with an authenticator
 * cannot use Basic at all).
 *
 * Requests that need a distinct client address go over real HTTP from another loopback address
 * (127.0.0.x), because the limiter keys clients by the socket's remote address.
 */
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import request from 'supertest';
import { LOGIN_LIMITS } from '../../src/domain/users/login-throttle';
import { totpAt } from '../../src/domain/mfa/totp';
import { sample, scrape } from '../support/metrics-text';
import { createUser } from '../support/scenarios';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { basic, startTestApp, type TestApp } from '../support/test-app';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
}

const password = (name: string) => `pw-${name}-secret`;
const API5 = { 'X-Kinvey-API-Version': '5' };

const PRE_LOGIN = `function onPreLogin(request, response, modules) {
  if (request.body.username === 'banned') {
    response.body = { error: 'UserLockedDown', description: 'This account is locked', debug: '' };
    return response.complete(403);
  }
  if (request.body.username === 'custom') {
    response.body = { customLogin: true };
    return response.complete(200);
  }
  response.continue();
}`;
const POST_LOGIN = `function onPostLogin(request, response, modules) {
  if (response.body.username === 'latebanned') {
    response.body = { error: 'UserLockedDown', description: 'Locked after login', debug: '' };
    return response.complete(403);
  }
  response.continue();
}`;

let dir: string;
beforeAll(() => {
  dir = makeTempDir('kinbase-login-pipeline-');
  writeFileSync(
    path.join(dir, 'env.json'),
    JSON.stringify({
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: { diary: { type: 'internal', permissions: 'private' } },
      collectionHooks: {
        user: {
          onPreLogin: { type: 'internal', code: PRE_LOGIN },
          onPostLogin: { type: 'internal', code: POST_LOGIN },
        },
      },
    }),
  );
});
afterAll(() => removeTempDir(dir));

let t: TestApp;
let now: number;
beforeEach(async () => {
  now = Date.parse('2026-03-01T12:00:10.000Z');
  t = await startTestApp({ clock: () => new Date(now), environment: { file: path.join(dir, 'env.json') } });
});
afterEach(async () => t.close());

/** Sends a request to the real server from the loopback address `from`. */
function sendFrom(
  from: string,
  method: string,
  urlPath: string,
  authorization: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${urlPath}`,
      {
        method,
        localAddress: from,
        headers: {
          Authorization: authorization,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Body) : {} }),
        );
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

function expectThrottled(res: Reply): void {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    error: 'TooManyLoginAttempts',
    description: expect.any(String),
    debug: expect.any(String),
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(LOGIN_LIMITS.windowSeconds);
}

describe('a user with MFA on', () => {
  let alice: { id: string; auth: string };
  let authenticatorId: string;
  let entityId: string;

  beforeEach(async () => {
    alice = await createUser(t, 'alice');
    const created = await request(t.app)
      .post(`/user/${t.appKey}/${alice.id}/authenticators`)
      .set('Authorization', alice.auth)
      .send({ name: 'phone', type: 'totp' });
    expect(created.status).toBe(201);
    authenticatorId = created.body.id as string;
    const code = totpAt(created.body.config.secret as string, new Date(now));
    expect(
      (
        await request(t.app)
          .post(`/user/${t.appKey}/${alice.id}/authenticators/${authenticatorId}/verify`)
          .set('Authorization', alice.auth)
          .send({ code })
      ).status,
    ).toBe(200);
    const entry = await request(t.app)
      .post(`/appdata/${t.appKey}/diary`)
      .set('Authorization', alice.auth)
      .send({ text: 'private' });
    expect(entry.status).toBe(201);
    entityId = entry.body._id as string;
  });

  /** What the attacks in the report changed: the password, the authenticators, the recovery codes. */
  async function accountState(): Promise<unknown> {
    const login = await request(t.app)
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: 'alice', password: password('alice') });
    const authenticators = await request(t.app)
      .get(`/user/${t.appKey}/${alice.id}/authenticators`)
      .set('Authorization', alice.auth);
    const codes = await request(t.app)
      .get(`/user/${t.appKey}/${alice.id}/recovery-codes`)
      .set('Authorization', alice.auth);
    return {
      loginNeedsSecondFactor: login.body.mfaRequired,
      authenticators: authenticators.body,
      recoveryCodes: codes.body,
    };
  }

  const ROUTES: Array<{
    name: string;
    method: 'get' | 'post' | 'put' | 'delete';
    path: () => string;
    body?: () => object;
    masterToo?: boolean;
  }> = [
    {
      name: "reading the user's private entity",
      method: 'get',
      path: () => `/appdata/${t.appKey}/diary/${entityId}`,
      masterToo: true,
    },
    {
      name: 'minting recovery codes (POST /user/K/<id>/recovery-codes)',
      method: 'post',
      path: () => `/user/${t.appKey}/${alice.id}/recovery-codes`,
    },
    {
      name: 'deleting the authenticator',
      method: 'delete',
      path: () => `/user/${t.appKey}/${alice.id}/authenticators/${authenticatorId}`,
    },
    {
      name: 'setting a new password (PUT /user/K/<id>)',
      method: 'put',
      path: () => `/user/${t.appKey}/${alice.id}`,
      body: () => ({ username: 'alice', password: 'attacker-chosen' }),
    },
    { name: 'reading _me', method: 'get', path: () => `/user/${t.appKey}/_me` },
    {
      name: 'listing the authenticators',
      method: 'get',
      path: () => `/user/${t.appKey}/${alice.id}/authenticators`,
      masterToo: true,
    },
  ];

  test.each(ROUTES)(
    'Basic credentials of a user with MFA on are refused for $name; a session token of that user is not',
    async (route) => {
      const send = (authorization: string, headers: Record<string, string> = {}) => {
        const req = request(t.app)[route.method](route.path()).set('Authorization', authorization).set(headers);
        return route.body ? req.send(route.body()) : req;
      };
      const before = await accountState();

      const stolen = await send(basic('alice', password('alice')), API5);
      expect(stolen.status).toBe(401);
      expect(stolen.body).toEqual({
        error: 'InvalidCredentials',
        description: expect.any(String),
        debug: expect.stringMatching(/multi-factor authentication on/),
      });
      const app = await send(t.appAuth);
      expect(app.status).toBe(401);
      expect(app.body.error).toBe('InsufficientCredentials');
      expect(await accountState()).toEqual(before);
      expect(
        (
          await request(t.app)
            .post(`/user/${t.appKey}/login`)
            .set('Authorization', t.appAuth)
            .send({ username: 'alice', password: 'attacker-chosen' })
        ).status,
      ).toBe(401);

      // The route itself works for the user's own session (which passed the second factor) and master.
      if (route.masterToo) expect((await send(t.masterAuth)).status).toBe(200);
      expect((await send(alice.auth)).status).toBeLessThan(300);
    },
  );

  test('a wrong Basic password of a user with MFA on answers exactly like one of a user without MFA (the refusal tells nothing to a guesser)', async () => {
    await createUser(t, 'bob');
    const guess = (username: string) =>
      request(t.app).get(`/user/${t.appKey}/_me`).set(API5).set('Authorization', basic(username, 'wrong-guess'));
    const mfaUser = await guess('alice');
    const plainUser = await guess('bob');
    const nobody = await guess('nobody');
    expect(mfaUser.status).toBe(401);
    expect(mfaUser.body).toEqual(plainUser.body);
    expect(mfaUser.body).toEqual(nobody.body);
    expect(mfaUser.body.debug).not.toMatch(/multi-factor/);
  });

  test("Basic credentials of a user who turns MFA off work again: the refusal follows the user's MFA state on each request", async () => {
    const me = () =>
      request(t.app)
        .get(`/user/${t.appKey}/_me`)
        .set(API5)
        .set('Authorization', basic('alice', password('alice')));
    expect((await me()).status).toBe(401);
    expect(
      (
        await request(t.app)
          .delete(`/user/${t.appKey}/${alice.id}/authenticators/${authenticatorId}`)
          .set('Authorization', alice.auth)
      ).status,
    ).toBe(204);
    expect((await me()).status).toBe(200);
  });
});

describe('login hooks run for Basic user credentials', () => {
  test("a user an onPreLogin hook bans cannot get in with Basic credentials on any route; the hook's answer is sent", async () => {
    await createUser(t, 'plain');
    // createUser would fail its login: sign up only.
    expect(
      (
        await request(t.app)
          .post(`/user/${t.appKey}`)
          .set('Authorization', t.appAuth)
          .send({ username: 'banned', password: password('banned') })
      ).status,
    ).toBe(201);
    const asBanned = basic('banned', password('banned'));
    for (const route of [`/user/${t.appKey}/_me`, `/appdata/${t.appKey}/diary`]) {
      const res = await request(t.app).get(route).set(API5).set('Authorization', asBanned);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'UserLockedDown', description: 'This account is locked', debug: '' });
    }
    const write = await request(t.app)
      .post(`/appdata/${t.appKey}/diary`)
      .set(API5)
      .set('Authorization', asBanned)
      .send({ text: 'should not land' });
    expect(write.status).toBe(403);
    expect(await t.documents.count({ appKey: t.appKey, collection: 'diary' }, {})).toBe(0);
    // The hook let an ordinary user through.
    expect(
      (
        await request(t.app)
          .get(`/user/${t.appKey}/_me`)
          .set(API5)
          .set('Authorization', basic('plain', password('plain')))
      ).status,
    ).toBe(200);
  });

  test('a user an onPostLogin hook turns away cannot get in with Basic credentials either', async () => {
    expect(
      (
        await request(t.app)
          .post(`/user/${t.appKey}`)
          .set('Authorization', t.appAuth)
          .send({ username: 'latebanned', password: password('latebanned') })
      ).status,
    ).toBe(201);
    const res = await request(t.app)
      .get(`/user/${t.appKey}/_me`)
      .set(API5)
      .set('Authorization', basic('latebanned', password('latebanned')));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'UserLockedDown', description: 'Locked after login', debug: '' });
  });

  test('an onPreLogin hook that answers the login itself (a custom login) does not let Basic credentials in, right password or not', async () => {
    expect(
      (
        await request(t.app)
          .post(`/user/${t.appKey}`)
          .set('Authorization', t.appAuth)
          .send({ username: 'custom', password: password('custom') })
      ).status,
    ).toBe(201);
    for (const secret of ['any-password-at-all', password('custom')]) {
      const res = await request(t.app)
        .get(`/user/${t.appKey}/_me`)
        .set(API5)
        .set('Authorization', basic('custom', secret));
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: 'InvalidCredentials',
        description: expect.any(String),
        debug: expect.stringMatching(/onPreLogin hook answered this login/),
      });
    }
  });
});

describe('the login throttle counts Basic user credentials', () => {
  test('spraying Basic guesses over many usernames from one client gets that client 429 before any check, on Basic and /login alike', async () => {
    await createUser(t, 'victim');
    const me = `/user/${t.appKey}/_me`;
    for (let i = 0; i < LOGIN_LIMITS.failuresPerClient; i++) {
      expect((await sendFrom('127.0.0.4', 'GET', me, basic(`nobody-${i}`, 'guess'), undefined, API5)).status).toBe(401);
    }
    // The right password too: the answer tells nothing, so no check happened.
    expectThrottled(await sendFrom('127.0.0.4', 'GET', me, basic('victim', password('victim')), undefined, API5));
    expectThrottled(
      await sendFrom('127.0.0.4', 'POST', `/user/${t.appKey}/login`, t.appAuth, {
        username: 'victim',
        password: password('victim'),
      }),
    );
    // Another client is not held.
    expect((await sendFrom('127.0.0.5', 'GET', me, basic('victim', password('victim')), undefined, API5)).status).toBe(
      200,
    );
  });

  test('a throttled flood of guesses runs no login hook: each guess ran onPreLogin until the limit, none after', async () => {
    await createUser(t, 'victim');
    const preLoginRuns = async () =>
      sample(await scrape(t), 'kinbase_business_logic_calls_total', { kind: 'hook', function: 'onPreLogin' }) ?? 0;
    const me = `/user/${t.appKey}/_me`;
    const start = await preLoginRuns();
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++) {
      expect((await sendFrom('127.0.0.8', 'GET', me, basic('victim', `guess-${i}`), undefined, API5)).status).toBe(401);
    }
    const atLimit = await preLoginRuns();
    expect(atLimit - start).toBe(LOGIN_LIMITS.failuresPerUsername);
    for (let i = 0; i < 5; i++)
      expectThrottled(await sendFrom('127.0.0.8', 'GET', me, basic('victim', `more-${i}`), undefined, API5));
    expectThrottled(
      await sendFrom('127.0.0.8', 'POST', `/user/${t.appKey}/login`, t.appAuth, {
        username: 'victim',
        password: 'more',
      }),
    );
    expect(await preLoginRuns()).toBe(atLimit);
  });

  test('Basic guesses and /login guesses share one count per client', async () => {
    await createUser(t, 'victim');
    const half = LOGIN_LIMITS.failuresPerClient / 2;
    for (let i = 0; i < half; i++)
      expect(
        (
          await sendFrom('127.0.0.6', 'POST', `/user/${t.appKey}/login`, t.appAuth, {
            username: `nobody-${i}`,
            password: 'guess',
          })
        ).status,
      ).toBe(401);
    for (let i = half; i < LOGIN_LIMITS.failuresPerClient; i++) {
      expect(
        (await sendFrom('127.0.0.6', 'GET', `/user/${t.appKey}/_me`, basic(`nobody-${i}`, 'guess'), undefined, API5))
          .status,
      ).toBe(401);
    }
    expectThrottled(
      await sendFrom('127.0.0.6', 'POST', `/user/${t.appKey}/login`, t.appAuth, {
        username: 'victim',
        password: password('victim'),
      }),
    );
  });
});
