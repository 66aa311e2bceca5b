/**
 * Multi-factor authentication through the real API, as kinvey-js-sdk 7 drives it: authenticators,
 * recovery codes, the login challenge with KinveyMFA, device tokens; on both document stores and
 * on an injected clock, so every TOTP code is computed for a chosen time step.
 */
import request from 'supertest';
import TOTP from 'totp.js';
import { totpAt } from '../../src/domain/mfa/totp';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

const STEP_MS = 30_000;
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each(DOCUMENT_STORES)('MFA on the %s store', (kind: DocumentsKind) => {
  let t: TestApp;
  let now: number;
  let alice: { id: string; auth: string };
  let bob: { id: string; auth: string };
  const at = (offsetSteps = 0) => new Date(now + offsetSteps * STEP_MS);
  const advance = (seconds: number) => void (now += seconds * 1000);
  const api = () => request(t.app);
  const password = (name: string) => `pw-${name}-secret`;

  beforeEach(async () => {
    // 10 s into a time step, so "the next step" is always a different code.
    now = Date.parse('2026-03-01T12:00:10.000Z');
    t = await startTestApp({ documents: kind, clock: () => new Date(now) });
    alice = await createUser(t, 'alice', { email: 'alice@example.com' });
    bob = await createUser(t, 'bob');
  });
  afterEach(async () => t.close());

  /** Creates and verifies an authenticator for a user: its id, secret and the recovery codes. */
  async function enroll(
    user: { id: string; auth: string },
    name = 'phone',
  ): Promise<{ id: string; secret: string; recoveryCodes?: string[] }> {
    const created = await api()
      .post(`/user/${t.appKey}/${user.id}/authenticators`)
      .set('Authorization', user.auth)
      .send({ name, type: 'totp' });
    expect(created.status).toBe(201);
    const secret = created.body.config.secret as string;
    const verified = await api()
      .post(`/user/${t.appKey}/${user.id}/authenticators/${created.body.id}/verify`)
      .set('Authorization', user.auth)
      .send({ code: totpAt(secret, at()) });
    expect(verified.status).toBe(200);
    return {
      id: created.body.id as string,
      secret,
      recoveryCodes: verified.body.recoveryCodes as string[] | undefined,
    };
  }

  const login = (name: string, extra: Body = {}) =>
    api()
      .post(`/user/${t.appKey}/login`)
      .set('Authorization', t.appAuth)
      .send({ username: name, password: password(name), ...extra });
  const challenge = (token: string, authenticatorId: string) =>
    api().post(`/user/${t.appKey}/mfa/challenge`).set('Authorization', `KinveyMFA ${token}`).send({ authenticatorId });
  const complete = (token: string, code: string, createDeviceToken = false) =>
    api()
      .post(`/user/${t.appKey}/mfa/complete`)
      .set('Authorization', `KinveyMFA ${token}`)
      .send({ code, createDeviceToken });

  test('an authenticator is created with its secret, verified with a code, listed without it and deleted', async () => {
    const created = await api()
      .post(`/user/${t.appKey}/${alice.id}/authenticators`)
      .set('Authorization', alice.auth)
      .send({ name: 'phone', type: 'totp' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'phone',
      type: 'totp',
      config: {
        secret: expect.stringMatching(/^[A-Z2-7]{40}$/),
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        uri: expect.stringMatching(/^otpauth:\/\/totp\/Test%20App%3Aalice\?secret=/),
      },
    });
    // Unverified authenticators do not count: MFA is not on yet.
    expect(
      (await api().get(`/user/${t.appKey}/${alice.id}/authenticators`).set('Authorization', alice.auth)).body,
    ).toEqual([]);
    expect((await login('alice')).body).not.toHaveProperty('mfaRequired');

    const verify = await api()
      .post(`/user/${t.appKey}/${alice.id}/authenticators/${created.body.id}/verify`)
      .set('Authorization', alice.auth)
      .send({ code: totpAt(created.body.config.secret, at()) });
    expect(verify.status).toBe(200);
    expect(verify.body.recoveryCodes).toHaveLength(10);
    for (const code of verify.body.recoveryCodes)
      expect(code).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);

    const second = await enroll(alice, 'tablet');
    expect(second.recoveryCodes).toBeUndefined();
    const list = await api().get(`/user/${t.appKey}/${alice.id}/authenticators`).set('Authorization', alice.auth);
    expect(list.body).toEqual([
      { id: created.body.id, name: 'phone', type: 'totp' },
      { id: second.id, name: 'tablet', type: 'totp' },
    ]);

    expect(
      (
        await api()
          .delete(`/user/${t.appKey}/${alice.id}/authenticators/${second.id}/`)
          .set('Authorization', alice.auth)
      ).status,
    ).toBe(204);
    const missing = await api()
      .delete(`/user/${t.appKey}/${alice.id}/authenticators/nonExistingId/`)
      .set('Authorization', alice.auth);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      error: 'AuthenticatorNotFound',
      description: 'Could not find the specified authenticator.',
    });
    expect((await login('alice')).body.mfaRequired).toBe(true);

    // Removing the last one turns MFA off, and its recovery codes go with it.
    expect(
      (
        await api()
          .delete(`/user/${t.appKey}/${alice.id}/authenticators/${created.body.id}`)
          .set('Authorization', alice.auth)
      ).status,
    ).toBe(204);
    expect((await login('alice')).body).toMatchObject({ username: 'alice', _kmd: { authtoken: expect.any(String) } });
    expect(
      (await api().get(`/user/${t.appKey}/${alice.id}/recovery-codes`).set('Authorization', alice.auth)).body,
    ).toEqual({ recoveryCodes: [] });
  });

  test('a login with MFA on answers a challenge, completed with the next code into a session', async () => {
    const { id: authenticatorId, secret } = await enroll(alice);
    const first = await login('alice');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      mfaRequired: true,
      mfaSessionToken: expect.any(String),
      userId: alice.id,
      authenticators: [{ id: authenticatorId, name: 'phone', type: 'totp' }],
    });

    expect((await challenge(first.body.mfaSessionToken, authenticatorId)).status).toBe(200);
    // The code of the current step was spent on verification; the next one is within the window.
    const done = await complete(first.body.mfaSessionToken, totpAt(secret, at(1)));
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      user: expect.objectContaining({ _id: alice.id, username: 'alice' }),
      authToken: expect.any(String),
    });
    expect(done.body.user._kmd).toMatchObject({ authtoken: done.body.authToken, llt: expect.any(String) });
    const me = await api().get(`/user/${t.appKey}/_me`).set('Authorization', `Kinvey ${done.body.authToken}`);
    expect(me.status).toBe(200);
    expect(me.body._id).toBe(alice.id);

    // The MFA session token is single use.
    advance(30);
    const again = await complete(first.body.mfaSessionToken, totpAt(secret, at(1)));
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('InvalidCredentials');
  });

  test('an authenticator client that turns the decoded key into a string (totp.js) verifies and logs in with its codes', async () => {
    // totp.js HMACs `base32.decode(secret).toString()`: right only when the key bytes are ASCII.
    const clientCode = (secret: string, offsetSteps = 0) =>
      new TOTP.HOTP(secret).genOTP(Math.floor(at(offsetSteps).getTime() / STEP_MS));
    const created = await api()
      .post(`/user/${t.appKey}/${alice.id}/authenticators`)
      .set('Authorization', alice.auth)
      .send({ name: 'phone', type: 'totp' });
    const { secret } = created.body.config as { secret: string };
    const verify = await api()
      .post(`/user/${t.appKey}/${alice.id}/authenticators/${created.body.id}/verify`)
      .set('Authorization', alice.auth)
      .send({ code: clientCode(secret) });
    expect(verify.status).toBe(200);
    const first = await login('alice');
    const done = await complete(first.body.mfaSessionToken, clientCode(secret, 1));
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ _id: alice.id, _kmd: { authtoken: done.body.authToken } });
  });

  test('a wrong code is 400 ValidationError and the same MFA session still completes with a right one', async () => {
    const { id, secret } = await enroll(alice);
    const { body } = await login('alice');
    await challenge(body.mfaSessionToken, id);
    const wrong = await complete(body.mfaSessionToken, totpAt(secret, at(1)) === '111999' ? '111998' : '111999');
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({
      error: 'ValidationError',
      description: 'Your request body contained invalid or incorrectly formatted data.',
    });
    expect((await complete(body.mfaSessionToken, totpAt(secret, at(1)))).status).toBe(200);
  });

  test('a code once used never works again, nor an older one, for verification or login', async () => {
    const { id, secret } = await enroll(alice);
    const reusedFromVerify = await login('alice');
    await challenge(reusedFromVerify.body.mfaSessionToken, id);
    expect((await complete(reusedFromVerify.body.mfaSessionToken, totpAt(secret, at()))).status).toBe(400);
    expect((await complete(reusedFromVerify.body.mfaSessionToken, totpAt(secret, at(-1)))).status).toBe(400);
    expect((await complete(reusedFromVerify.body.mfaSessionToken, totpAt(secret, at(1)))).status).toBe(200);

    const next = await login('alice');
    const replay = await complete(next.body.mfaSessionToken, totpAt(secret, at(1)));
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('ValidationError');
    advance(60);
    expect((await complete(next.body.mfaSessionToken, totpAt(secret, at()))).status).toBe(200);
  });

  test('codes two steps away are refused', async () => {
    const { secret } = await enroll(alice);
    const { body } = await login('alice');
    expect((await complete(body.mfaSessionToken, totpAt(secret, at(2)))).status).toBe(400);
    expect((await complete(body.mfaSessionToken, totpAt(secret, at(-2)))).status).toBe(400);
  });

  test('guessing codes is stopped after 5 failures with 429 and Retry-After, even for a right code, until the window ends', async () => {
    const { secret } = await enroll(alice);
    const { body } = await login('alice');
    const wrong = totpAt(secret, at(1)) === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) expect((await complete(body.mfaSessionToken, wrong)).status).toBe(400);
    const held = await complete(body.mfaSessionToken, totpAt(secret, at(1)));
    expect(held.status).toBe(429);
    expect(held.body.error).toBe('TooManyLoginAttempts');
    expect(Number(held.headers['retry-after'])).toBeGreaterThan(0);
    // Verifying another authenticator counts against the same user.
    const created = await api()
      .post(`/user/${t.appKey}/${alice.id}/authenticators`)
      .set('Authorization', alice.auth)
      .send({ name: 'tablet' });
    expect(
      (
        await api()
          .post(`/user/${t.appKey}/${alice.id}/authenticators/${created.body.id}/verify`)
          .set('Authorization', alice.auth)
          .send({ code: totpAt(created.body.config.secret, at()) })
      ).status,
    ).toBe(429);
    // Other users are not held.
    const bobs = await enroll(bob);
    expect(bobs.recoveryCodes).toHaveLength(10);

    advance(Number(held.headers['retry-after']));
    const fresh = await login('alice');
    expect((await complete(fresh.body.mfaSessionToken, totpAt(secret, at()))).status).toBe(200);
  });

  test('a recovery code logs in once, in the MFA answer shape; wrong or used ones are 401', async () => {
    const { recoveryCodes } = await enroll(alice);
    const [code, other] = recoveryCodes as [string, string];
    const ok = await login('alice', { recoveryCode: code });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      mfaRequired: false,
      user: expect.objectContaining({ _id: alice.id }),
      authToken: expect.any(String),
    });
    expect(ok.body.user._kmd.authtoken).toBe(ok.body.authToken);
    expect((await api().get(`/user/${t.appKey}/_me`).set('Authorization', `Kinvey ${ok.body.authToken}`)).status).toBe(
      200,
    );

    const used = await login('alice', { recoveryCode: code });
    expect(used.status).toBe(401);
    expect(used.body.error).toBe('InvalidCredentials');
    expect((await login('alice', { recoveryCode: 'aaaa-bbbb-cccc-dddd' })).status).toBe(401);
    // A code is bound to its user: bob's password with alice's code does not pass bob's MFA.
    await enroll(bob);
    expect((await login('bob', { recoveryCode: other })).status).toBe(401);
    // Upper case and without dashes works too.
    expect((await login('alice', { recoveryCode: other.replace(/-/g, '').toUpperCase() })).status).toBe(200);

    const left = await api().get(`/user/${t.appKey}/${alice.id}/recovery-codes`).set('Authorization', alice.auth);
    expect(left.body.recoveryCodes).toHaveLength(8);
    for (const masked of left.body.recoveryCodes) expect(masked).toMatch(/^\*{4}-\*{4}-\*{4}-[a-z2-9]{4}$/);
    const regenerated = await api()
      .post(`/user/${t.appKey}/${alice.id}/recovery-codes`)
      .set('Authorization', alice.auth);
    expect(regenerated.body.recoveryCodes).toHaveLength(10);
    expect(regenerated.body.recoveryCodes).not.toContain(recoveryCodes![2]);
    expect((await login('alice', { recoveryCode: recoveryCodes![2] })).status).toBe(401);
    expect((await login('alice', { recoveryCode: regenerated.body.recoveryCodes[0] })).status).toBe(200);
  });

  test('a device token from a trusted completion skips the challenge for its user only, until it expires', async () => {
    const { secret } = await enroll(alice);
    await enroll(bob);
    const first = await login('alice');
    const done = await complete(first.body.mfaSessionToken, totpAt(secret, at(1)), true);
    expect(done.body.deviceToken).toEqual(expect.any(String));
    const { deviceToken } = done.body;

    const trusted = await login('alice', { deviceToken });
    expect(trusted.body).toEqual({
      mfaRequired: false,
      user: expect.objectContaining({ _id: alice.id }),
      authToken: expect.any(String),
    });
    expect((await login('alice', { deviceToken: 'forged' })).body.mfaRequired).toBe(true);
    expect((await login('bob', { deviceToken })).body.mfaRequired).toBe(true);
    // A wrong password is still a wrong password.
    expect(
      (
        await api()
          .post(`/user/${t.appKey}/login`)
          .set('Authorization', t.appAuth)
          .send({ username: 'alice', password: 'nope', deviceToken })
      ).status,
    ).toBe(401);

    advance(31 * 24 * 3600);
    expect((await login('alice', { deviceToken })).body.mfaRequired).toBe(true);
  });

  test('an MFA session expires after 5 minutes and only answers on the two mfa routes', async () => {
    const { id, secret } = await enroll(alice);
    const { body } = await login('alice');
    const asMfa = `KinveyMFA ${body.mfaSessionToken}`;
    expect((await api().get(`/user/${t.appKey}/${alice.id}/authenticators`).set('Authorization', asMfa)).status).toBe(
      401,
    );
    expect((await api().get(`/user/${t.appKey}/_me`).set('Authorization', asMfa)).status).toBe(401);
    expect(
      (
        await api()
          .post(`/user/${t.appKey}/mfa/complete`)
          .set('Authorization', alice.auth)
          .send({ code: totpAt(secret, at(1)) })
      ).status,
    ).toBe(401);
    expect((await challenge(body.mfaSessionToken, 'nonExistingId')).status).toBe(404);
    advance(301);
    const late = await challenge(body.mfaSessionToken, id);
    expect(late.status).toBe(401);
    expect(late.body.error).toBe('InvalidCredentials');
    expect((await complete(body.mfaSessionToken, totpAt(secret, at()))).status).toBe(401);
  });

  test('another user cannot list, create, verify or delete my authenticators or see my recovery codes; master can', async () => {
    const { id } = await enroll(alice);
    const mine = `/user/${t.appKey}/${alice.id}`;
    const attempts = [
      api().get(`${mine}/authenticators`),
      api().post(`${mine}/authenticators`).send({ name: 'evil' }),
      api().post(`${mine}/authenticators/${id}/verify`).send({ code: '123456' }),
      api().delete(`${mine}/authenticators/${id}`),
      api().get(`${mine}/recovery-codes`),
      api().post(`${mine}/recovery-codes`),
    ];
    for (const attempt of attempts) {
      const res = await attempt.set('Authorization', bob.auth);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('InsufficientCredentials');
    }
    expect((await api().get(`${mine}/authenticators`).set('Authorization', t.appAuth)).body.error).toBe(
      'InsufficientCredentials',
    );
    expect((await api().get(`${mine}/authenticators`).set('Authorization', t.masterAuth)).body).toEqual([
      { id, name: 'phone', type: 'totp' },
    ]);
    expect((await api().get(`/user/${t.appKey}/nobody/authenticators`).set('Authorization', t.masterAuth)).status).toBe(
      404,
    );
    expect((await login('alice')).body.mfaRequired).toBe(true);
  });

  test('secrets, recovery codes and MFA tokens never appear in any user response, query or projection', async () => {
    const { secret, recoveryCodes } = await enroll(alice);
    const first = await login('alice');
    const secrets = [secret, ...recoveryCodes!, first.body.mfaSessionToken as string];
    const asBob = (r: request.Test) => r.set('Authorization', bob.auth);
    const responses = [
      await asBob(api().get(`/user/${t.appKey}/${alice.id}`)),
      await api().get(`/user/${t.appKey}/${alice.id}`).set('Authorization', t.masterAuth),
      await api().get(`/user/${t.appKey}/_me`).set('Authorization', alice.auth),
      await asBob(api().get(`/user/${t.appKey}`)),
      await api()
        .get(`/user/${t.appKey}`)
        .set('Authorization', t.masterAuth)
        .query({ fields: 'secret,config,authenticators,recoveryCodes,_mfa_authenticator' }),
      await asBob(api().post(`/user/${t.appKey}/_lookup`).send({ username: 'alice' })),
      await api().get(`/user/${t.appKey}/${alice.id}/authenticators`).set('Authorization', alice.auth),
      await api().get(`/user/${t.appKey}/${alice.id}/recovery-codes`).set('Authorization', alice.auth),
      await api().get(`/user/${t.appKey}/_me`).set('Authorization', alice.auth),
    ];
    for (const res of responses) {
      expect(res.status).toBe(200);
      for (const s of secrets) expect(JSON.stringify(res.body)).not.toContain(s);
    }
    // No user query can find users by anything MFA stores: it is not in the user document.
    for (const field of ['secret', 'config.secret', 'authenticators', 'mfa']) {
      const res = await api()
        .get(`/user/${t.appKey}/_count`)
        .set('Authorization', t.masterAuth)
        .query({ query: JSON.stringify({ [field]: { $exists: true } }) });
      expect(res.body).toEqual({ count: 0 });
    }
    const [stored] = await t.documents.findByIds({ appKey: t.appKey, collection: 'user' }, [alice.id]);
    for (const s of secrets) expect(JSON.stringify(stored)).not.toContain(s);
    // The internal collections are not reachable as app data, not even with master credentials.
    for (const collection of ['_mfa_authenticator', '_mfa_recovery_code', '_mfa_session', '_mfa_device']) {
      const res = await api().get(`/appdata/${t.appKey}/${collection}`).set('Authorization', t.masterAuth);
      expect(res.status).not.toBe(200);
      for (const s of secrets) expect(JSON.stringify(res.body)).not.toContain(s);
    }
    // Recovery codes and MFA session tokens are stored hashed.
    const dump = JSON.stringify([
      ...(await t.documents.find({ appKey: t.appKey, collection: '_mfa_recovery_code' }, {})),
      ...(await t.documents.find({ appKey: t.appKey, collection: '_mfa_session' }, {})),
    ]);
    for (const s of [...recoveryCodes!, first.body.mfaSessionToken as string]) expect(dump).not.toContain(s);
  });
});
