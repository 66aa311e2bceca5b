/**
 * kinvey-js-sdk 7.0.0's MFA API as an app uses it, against a kinbase server: creates and verifies
 * a TOTP authenticator, logs in with MFA (with a wrong code first, then trusting the device),
 * again through the device token, with a recovery code, and disables MFA. TOTP codes are computed
 * here from the secret the server returned, with a few lines of RFC 6238 of this script's own (not
 * kinbase's code). Prints `FLOW {"flow":…,"value"|"error":…}` lines for test/e2e/sdk-mfa.test.ts.
 * Env: KINBASE_URL, APP_KEY, APP_SECRET.
 */
const { createHmac } = require('node:crypto');
const { init } = require('../../support/kinvey-js-sdk-node');
const { flow, expectFailure: failureOf } = require('./flow-report');

function base32ToBuffer(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from((bits.match(/.{8}/g) || []).map((b) => parseInt(b, 2)));
}

/** RFC 6238 TOTP (SHA1, 30 s, 6 digits) at `offsetSteps` steps from now. */
function totp(secret, offsetSteps = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offsetSteps));
  const digest = createHmac('sha1', base32ToBuffer(secret)).update(counter).digest();
  const offset = digest[19] & 0xf;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function main() {
  const Kinvey = init({
    appKey: process.env.APP_KEY,
    appSecret: process.env.APP_SECRET,
    apiHostname: process.env.KINBASE_URL,
  });
  const username = `mfa-${Date.now()}`;
  const password = 'mfa-e2e-password';
  const state = {};

  await flow('create and verify an authenticator', async () => {
    await Kinvey.User.signup({ username, password });
    await Kinvey.User.login(username, password);
    let seenAuthenticator;
    const result = await Kinvey.MFA.Authenticators.create({ name: 'phone' }, (authenticator) => {
      seenAuthenticator = authenticator;
      return totp(authenticator.config.secret);
    });
    state.secret = result.authenticator.config.secret;
    state.authenticatorId = result.authenticator.id;
    state.recoveryCodes = result.recoveryCodes;
    return {
      keys: Object.keys(result).sort(),
      authenticatorKeys: Object.keys(result.authenticator).sort(),
      name: result.authenticator.name,
      type: result.authenticator.type,
      secretIsBase32: /^[A-Z2-7]+$/.test(seenAuthenticator.config.secret),
      recoveryCodes: result.recoveryCodes.length,
    };
  });

  await flow('list authenticators and recovery codes', async () => ({
    list: await Kinvey.MFA.Authenticators.list(),
    expectedId: state.authenticatorId,
    enabled: await Kinvey.MFA.isEnabled(),
    recoveryCodes: await Kinvey.MFA.listRecoveryCodes(),
  }));

  await flow('plain login is refused once MFA is on', async () => {
    await Kinvey.User.logout();
    return failureOf(() => Kinvey.User.login(username, password));
  });

  await flow('loginWithMFA retries after a wrong code and trusts the device', async () => {
    const errors = [];
    let offered;
    const user = await Kinvey.User.loginWithMFA(
      username,
      password,
      (authenticators) => {
        offered = authenticators;
        return authenticators[0].id;
      },
      (authenticatorId, context) => {
        if (context.error) errors.push(context.error.message);
        // The current step's code was spent on verification; the next one is within the window.
        return context.retries === 0
          ? { code: totp(state.secret, 1) === '111999' ? '111998' : '111999' }
          : { code: totp(state.secret, 1), trustDevice: true };
      },
    );
    const active = await Kinvey.User.getActiveUser();
    const me = await Kinvey.User.me();
    return {
      offered,
      username: user.data.username,
      activeUsername: active && active.data.username,
      hasToken: typeof user.data._kmd.authtoken === 'string',
      meUsername: me.data.username,
      errors,
    };
  });

  await flow('a trusted device logs in without a code', async () => {
    await Kinvey.User.logout();
    const user = await Kinvey.User.loginWithMFA(
      username,
      password,
      (a) => a[0].id,
      () => {
        throw new Error('MFA complete should not be called');
      },
    );
    return { username: user.data.username, hasToken: typeof user.data._kmd.authtoken === 'string' };
  });

  await flow('loginWithRecoveryCode logs in once per code', async () => {
    await Kinvey.User.logout();
    const user = await Kinvey.User.loginWithRecoveryCode(username, password, state.recoveryCodes[0]);
    const me = await Kinvey.User.me();
    await Kinvey.User.logout();
    const reused = await failureOf(() => Kinvey.User.loginWithRecoveryCode(username, password, state.recoveryCodes[0]));
    const next = await Kinvey.User.loginWithRecoveryCode(username, password, state.recoveryCodes[1]);
    return {
      username: user.data.username,
      meUsername: me.data.username,
      reused,
      nextUsername: next.data.username,
      left: (await Kinvey.MFA.listRecoveryCodes()).length,
    };
  });

  await flow('regenerate recovery codes, remove the authenticator and log in plainly', async () => {
    const regenerated = await Kinvey.MFA.regenerateRecoveryCodes();
    const missing = await failureOf(() => Kinvey.MFA.Authenticators.remove('nonExistingId'));
    await Kinvey.MFA.disable();
    const enabled = await Kinvey.MFA.isEnabled();
    await Kinvey.User.logout();
    const user = await Kinvey.User.login(username, password);
    return { regenerated: regenerated.length, missing, enabled, username: user.data.username };
  });
}

main()
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
