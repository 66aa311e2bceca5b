/**
 * The SDKs' account calls (`User.resetPassword`, `User.verifyEmail`, `User.forgotUsername`) against
 * the built server with mail on, through Mailpit: kinvey-node-sdk 3.12.5 and kinvey-js-sdk 7.0.0,
 * each in its own process. The test reads the mails, follows their links over HTTP, and the SDK
 * then logs in with the new password and sees its address confirmed.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';
import { linkIn, startMailpit, type Mailpit } from '../support/mailpit';
import { freshAddress, postForm, tokenOf } from '../support/account-mail';

jest.setTimeout(90_000);

const APP = {
  appKey: 'kid_sdk_mail',
  appSecret: 'sdk-mail-app-secret',
  masterSecret: 'sdk-mail-master-secret',
  name: 'SDK Mail',
};
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;

let mailpit: Mailpit;
let server: ServerProcess;
let dataDir: string;
beforeAll(async () => {
  mailpit = await startMailpit();
  ({ server, dataDir } = await startSdkServer([APP], 'kinbase-sdk-mail-', {
    KINBASE_SMTP_URL: mailpit.smtpUrl,
    KINBASE_MAIL_FROM: 'SDK Mail <no-reply@kinbase.test>',
  }));
});
afterAll(async () => {
  if (server) await server.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await mailpit?.stop();
});

function run(sdk: string, env: Record<string, string>): Promise<Map<string, FlowResult>> {
  return runFlowScript(
    path.join(__dirname, 'clients', `${sdk}.account-mail.js`),
    { KINBASE_URL: server.baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret, ...env },
    40_000,
  );
}

function valueOf(results: Map<string, FlowResult>, flow: string): unknown {
  const result = results.get(flow);
  if (!result) throw new Error(`the client did not report "${flow}"`);
  if (result.error) throw new Error(`"${flow}" failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

test.each(SDKS)('%s: reset, verification and forgotten-username mails arrive; their links work', async (sdk) => {
  const username = `${sdk}-mail-user`;
  const email = freshAddress(sdk);
  const started = await run(sdk, { PHASE: 'start', USERNAME: username, EMAIL: email, PASSWORD: 'first-password' });
  for (const flow of ['signup', 'resetPassword', 'verifyEmail', 'forgotUsername']) valueOf(started, flow);

  const mails = await mailpit.waitForMails(email, 3);
  const bySubject = (start: string) => {
    const mail = mails.find((m) => m.subject.startsWith(start));
    if (!mail) throw new Error(`no mail "${start}..." among ${mails.map((m) => m.subject).join(', ')}`);
    return mail;
  };
  expect(bySubject('Your SDK Mail username').text).toContain(username);
  const reset = linkIn(bySubject('Reset your SDK Mail password'), `${server.baseUrl}/account/`);
  const verify = linkIn(bySubject('Confirm your e-mail address'), `${server.baseUrl}/account/`);
  expect(
    (await postForm(reset, { token: tokenOf(reset), password: 'second-password', confirm: 'second-password' })).status,
  ).toBe(200);
  expect((await postForm(verify, { token: tokenOf(verify) })).status).toBe(200);

  const checked = await run(sdk, { PHASE: 'check', USERNAME: username, EMAIL: email, PASSWORD: 'second-password' });
  expect(valueOf(checked, 'login with the new password')).toMatchObject({ username, status: 'confirmed' });
  const stale = await run(sdk, { PHASE: 'check', USERNAME: username, EMAIL: email, PASSWORD: 'first-password' });
  expect(stale.get('login with the new password')?.error).toBeDefined();
});
