/**
 * Login abuse with an ordinary account: guessing passwords (for one username, or spraying many
 * usernames from one client, also through Basic user credentials on API 5) runs into 429
 * TooManyLoginAttempts with Retry-After, before any hashing; a victim whose username is under
 * attack still gets in from a client they logged in from before, while someone sharing that
 * client's address gets no more guesses than anywhere else; and a password change ends the
 * user's other sessions, so a stolen token dies with the old password.
 *
 * Requests that need a distinct client address go over real HTTP from another loopback address
 * (127.0.0.x), because the limiter keys clients by the socket's remote address.
 */
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { basic, startTestApp, type TestApp } from '../support/test-app';
import { LOGIN_LIMITS } from '../../src/domain/users/login-throttle';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** POSTs JSON to the real server from the loopback address `from`. */
function postFrom(t: TestApp, from: string, path: string, body: unknown, authorization = t.appAuth): Promise<Reply> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${path}`,
      {
        method: 'POST',
        localAddress: from,
        headers: {
          Authorization: authorization,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

function expectThrottled(res: { status: number; headers: Record<string, unknown>; body: unknown }): void {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    error: 'TooManyLoginAttempts',
    description: expect.any(String),
    debug: expect.any(String),
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(LOGIN_LIMITS.windowSeconds);
}

describe('failed logins are rate limited', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createUser(t, 'victim');
  });
  afterEach(async () => t.close());

  test("guessing one username's password gets 429 with Retry-After after the limit, even for the right password", async () => {
    const login = `/user/${t.appKey}/login`;
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++) {
      const res = await postFrom(t, '127.0.0.2', login, { username: 'victim', password: `guess-${i}` });
      expect(res.status).toBe(401);
    }
    expectThrottled(await postFrom(t, '127.0.0.2', login, { username: 'victim', password: 'guess-again' }));
    // From another client and with the right password too: the username itself is locked.
    expectThrottled(await postFrom(t, '127.0.0.3', login, { username: 'victim', password: 'pw-victim-secret' }));
  });

  test('32 concurrent guesses for one username get no more than the limit checked', async () => {
    const login = `/user/${t.appKey}/login`;
    const replies = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        postFrom(t, '127.0.0.8', login, { username: 'victim', password: `guess-${i}` }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_LIMITS.failuresPerUsername);
    expect(statuses.filter((s) => s === 429)).toHaveLength(32 - LOGIN_LIMITS.failuresPerUsername);
  });

  test('spraying wrong passwords over many usernames from one client gets that client 429, not others', async () => {
    const login = `/user/${t.appKey}/login`;
    for (let i = 0; i < LOGIN_LIMITS.failuresPerClient; i++) {
      const res = await postFrom(t, '127.0.0.4', login, { username: `nobody-${i}`, password: 'guess' });
      expect(res.status).toBe(401);
    }
    expectThrottled(await postFrom(t, '127.0.0.4', login, { username: 'victim', password: 'pw-victim-secret' }));
    expect((await postFrom(t, '127.0.0.5', login, { username: 'victim', password: 'pw-victim-secret' })).status).toBe(
      200,
    );
  });

  test('an attacker locking a username does not lock out its owner on a client they logged in from before', async () => {
    const login = `/user/${t.appKey}/login`;
    // createUser logged in from 127.0.0.1 (supertest); the victim's own address is that one.
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++)
      await postFrom(t, '127.0.0.6', login, { username: 'victim', password: `guess-${i}` });
    expectThrottled(await postFrom(t, '127.0.0.6', login, { username: 'victim', password: 'pw-victim-secret' }));
    expect((await postFrom(t, '127.0.0.1', login, { username: 'victim', password: 'pw-victim-secret' })).status).toBe(
      200,
    );
  });

  test("someone behind the victim's own address (a shared NAT) gets the username limit of guesses, not the client limit", async () => {
    const login = `/user/${t.appKey}/login`;
    // createUser logged in from 127.0.0.1 (supertest): that address is known for the victim.
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++) {
      expect((await postFrom(t, '127.0.0.1', login, { username: 'victim', password: `guess-${i}` })).status).toBe(401);
    }
    expectThrottled(await postFrom(t, '127.0.0.1', login, { username: 'victim', password: 'guess-again' }));
  });

  test('guessing through Basic user credentials on API 5 is throttled too', async () => {
    const me = `/user/${t.appKey}/_me`;
    const guess = (password: string) =>
      request(t.app).get(me).set('X-Kinvey-API-Version', '5').set('Authorization', basic('victim', password));
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++) expect((await guess(`guess-${i}`)).status).toBe(401);
    expectThrottled(await guess('guess-again'));
  });

  test('throttled attempts are not counted, so hammering a locked username does not extend its lockout', async () => {
    const login = `/user/${t.appKey}/login`;
    for (let i = 0; i < LOGIN_LIMITS.failuresPerUsername; i++)
      await postFrom(t, '127.0.0.7', login, { username: 'victim', password: `guess-${i}` });
    const first = await postFrom(t, '127.0.0.7', login, { username: 'victim', password: 'x' });
    for (let i = 0; i < 5; i++) await postFrom(t, '127.0.0.7', login, { username: 'victim', password: 'x' });
    const later = await postFrom(t, '127.0.0.7', login, { username: 'victim', password: 'x' });
    expectThrottled(later);
    expect(Number(later.headers['retry-after'])).toBeLessThanOrEqual(Number(first.headers['retry-after']));
  });
});

describe('a password change ends the other sessions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => t.close());

  test("a token stolen before the owner changes their password stops working; the owner's session keeps working", async () => {
    const owner = await createUser(t, 'alice');
    const u = `/user/${t.appKey}`;
    const stolen = `Kinvey ${(await request(t.app).post(`${u}/login`).set('Authorization', t.appAuth).send({ username: 'alice', password: 'pw-alice-secret' })).body._kmd.authtoken as string}`;
    expect((await request(t.app).get(`${u}/_me`).set('Authorization', stolen)).status).toBe(200);

    const change = await request(t.app)
      .put(`${u}/${owner.id}`)
      .set('Authorization', owner.auth)
      .send({ username: 'alice', password: 'new-secret' });
    expect(change.status).toBe(200);
    const gone = await request(t.app).get(`${u}/_me`).set('Authorization', stolen);
    expect(gone.status).toBe(401);
    expect(gone.body.error).toBe('InvalidCredentials');
    expect((await request(t.app).get(`${u}/_me`).set('Authorization', owner.auth)).status).toBe(200);
  });

  test("master changing a user's password ends every session of that user, and no one else's", async () => {
    const alice = await createUser(t, 'alice');
    const bob = await createUser(t, 'bob');
    const u = `/user/${t.appKey}`;
    expect(
      (
        await request(t.app)
          .put(`${u}/${alice.id}`)
          .set('Authorization', t.masterAuth)
          .send({ username: 'alice', password: 'reset-by-admin' })
      ).status,
    ).toBe(200);
    expect((await request(t.app).get(`${u}/_me`).set('Authorization', alice.auth)).status).toBe(401);
    expect((await request(t.app).get(`${u}/_me`).set('Authorization', bob.auth)).status).toBe(200);
  });

  test('an update without a password keeps every session', async () => {
    const alice = await createUser(t, 'alice');
    const u = `/user/${t.appKey}`;
    const other = `Kinvey ${(await request(t.app).post(`${u}/login`).set('Authorization', t.appAuth).send({ username: 'alice', password: 'pw-alice-secret' })).body._kmd.authtoken as string}`;
    expect(
      (
        await request(t.app)
          .put(`${u}/${alice.id}`)
          .set('Authorization', alice.auth)
          .send({ username: 'alice', city: 'Oslo' })
      ).status,
    ).toBe(200);
    expect((await request(t.app).get(`${u}/_me`).set('Authorization', other)).status).toBe(200);
  });
});

describe('a user pulled without a password (kinbase pull)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => t.close());

  test('no password, not even the one it had at the source, logs into a pulled account until a password is set; then only that one', async () => {
    const alice = await createUser(t, 'alice');
    // What pull stores: the user as the source had it, and a credential marked "reset required".
    await t.documents.upsert({ appKey: t.appKey, collection: '_credential' }, { _id: alice.id, resetRequired: true });
    const u = `/user/${t.appKey}`;
    const login = (password: string) =>
      request(t.app).post(`${u}/login`).set('Authorization', t.appAuth).send({ username: 'alice', password });
    for (const password of ['pw-alice-secret', 'anything']) {
      const refused = await login(password);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({
        error: 'InvalidCredentials',
        description: expect.stringContaining('reset the password'),
      });
    }
    // An unknown username still gets the plain answer.
    expect(
      (
        await request(t.app)
          .post(`${u}/login`)
          .set('Authorization', t.appAuth)
          .send({ username: 'nobody', password: 'x' })
      ).body.description,
    ).toBe('Invalid credentials. Please retry your request with correct credentials.');
    const reset = await request(t.app)
      .put(`${u}/${alice.id}`)
      .set('Authorization', t.masterAuth)
      .send({ username: 'alice', password: 'the-new-one' });
    expect(reset.status).toBe(200);
    expect((await login('the-new-one')).status).toBe(200);
    expect((await login('pw-alice-secret')).body.description).toBe(
      'Invalid credentials. Please retry your request with correct credentials.',
    );
  });
});
