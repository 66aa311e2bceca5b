/**
 * kinvey-js-sdk 7.0.0's multi-factor authentication against the built server, in a child process
 * (the SDK is a process-wide singleton): test/e2e/clients/js-sdk-7.mfa-flows.js creates and
 * verifies a TOTP authenticator with codes it computes from the secret the server returned, logs
 * in with MFA, through a trusted device and with recovery codes, and disables MFA.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const APP = {
  appKey: 'kid_sdk_mfa',
  appSecret: 'sdk-mfa-app-secret',
  masterSecret: 'sdk-mfa-master-secret',
  name: 'SDK MFA e2e',
};
const CLIENT_TIMEOUT_MS = 40_000;

/** Runs the flow script to completion; rejects loudly if it crashes or hangs. */
async function runClient(baseUrl: string): Promise<Map<string, FlowResult>> {
  return runFlowScript(
    path.join(__dirname, 'clients', 'js-sdk-7.mfa-flows.js'),
    { KINBASE_URL: baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret },
    CLIENT_TIMEOUT_MS,
  );
}

describe('kinvey-js-sdk 7 MFA against the built server', () => {
  let dataDir: string;
  let server: ServerProcess;
  let results = new Map<string, FlowResult>();

  beforeAll(async () => {
    ({ server, dataDir } = await startSdkServer([APP], 'kinbase-sdk-mfa-'));
    results = await runClient(server.baseUrl);
  }, 55_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The value the app saw in one flow; fails with the SDK's error if the flow threw. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function seen<T = Record<string, any>>(flow: string): T {
    const result = results.get(flow);
    if (!result) throw new Error(`the client did not report the flow "${flow}"`);
    if (result.error) throw new Error(`flow "${flow}" failed: ${JSON.stringify(result.error)}`);
    return result.value as T;
  }

  test('MFA.Authenticators.create returns the authenticator with its secret and the recovery codes', () => {
    expect(seen('create and verify an authenticator')).toEqual({
      keys: ['authenticator', 'recoveryCodes'],
      authenticatorKeys: ['config', 'id', 'name', 'type'],
      name: 'phone',
      type: 'totp',
      secretIsBase32: true,
      recoveryCodes: 10,
    });
  });

  test('MFA lists the verified authenticator, is enabled and lists the recovery codes masked', () => {
    const v = seen('list authenticators and recovery codes');
    expect(v.list).toEqual([{ id: v.expectedId, name: 'phone', type: 'totp' }]);
    expect(v.enabled).toBe(true);
    expect(v.recoveryCodes).toHaveLength(10);
    for (const code of v.recoveryCodes) expect(code).toMatch(/^\*{4}-\*{4}-\*{4}-[a-z2-9]{4}$/);
  });

  test('User.login refuses with "MFA login is required."', () => {
    expect(seen('plain login is refused once MFA is on')).toMatchObject({ message: 'MFA login is required.' });
  });

  test('User.loginWithMFA sees the wrong code as the SDK expects, retries and logs in', () => {
    const v = seen('loginWithMFA retries after a wrong code and trusts the device');
    expect(v.offered).toEqual([
      { id: seen('list authenticators and recovery codes').expectedId, name: 'phone', type: 'totp' },
    ]);
    expect(v.errors).toEqual([
      expect.stringContaining('Your request body contained invalid or incorrectly formatted data.'),
    ]);
    expect(v).toMatchObject({ username: expect.stringMatching(/^mfa-/), hasToken: true });
    expect(v.activeUsername).toBe(v.username);
    expect(v.meUsername).toBe(v.username);
  });

  test('the device token of a trusted login skips the code next time', () => {
    expect(seen('a trusted device logs in without a code')).toEqual({
      username: expect.stringMatching(/^mfa-/),
      hasToken: true,
    });
  });

  test('User.loginWithRecoveryCode logs in, and a used code is refused', () => {
    const v = seen('loginWithRecoveryCode logs in once per code');
    expect(v.meUsername).toBe(v.username);
    expect(v.nextUsername).toBe(v.username);
    expect(v.reused).toMatchObject({ name: 'InvalidCredentialsError' });
    expect(v.left).toBe(8);
  });

  test('regenerating codes, a missing authenticator and MFA.disable behave as the SDK expects', () => {
    const v = seen('regenerate recovery codes, remove the authenticator and log in plainly');
    expect(v.regenerated).toBe(10);
    expect(v.missing).toMatchObject({ name: 'NotFoundError', message: 'Could not find the specified authenticator.' });
    expect(v.enabled).toBe(false);
    expect(v.username).toMatch(/^mfa-/);
  });
});
