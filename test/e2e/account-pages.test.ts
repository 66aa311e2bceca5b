/**
 * The pages of account mails in a real browser (Chromium), on both document stores: a user signs
 * up, asks for a password reset, the mail is read from Mailpit, its link opened in Chromium, the
 * new password typed and saved; the new password logs in, the old one and the used link do not.
 * The same for an e-mail verification. The pages run under their strict CSP with no violation.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../support/browser';
import { DOCUMENT_STORES, type TestApp } from '../support/test-app';
import { linkIn, startMailpit, type Mailpit } from '../support/mailpit';
import { call, freshAddress, login, mailingApp, signup } from '../support/account-mail';

jest.setTimeout(90_000);

let mailpit: Mailpit;
let browser: Browser;
beforeAll(async () => {
  mailpit = await startMailpit();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await mailpit?.stop();
});

/** A fresh page that records script errors, CSP violations and requests to any other origin. */
async function openPage(origin: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 720, height: 560 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  context.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`)) problems.push(`request outside kinbase: ${request.url()}`);
  });
  return { page, problems };
}

describe.each(DOCUMENT_STORES)('account pages in Chromium (%s store)', (documents) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await mailingApp(mailpit, { documents, appName: 'Bookshelf' });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a reset link opened in the browser sets a new password; the old password and the used link are refused', async () => {
    const email = freshAddress('browser-reset');
    await signup(t, 'ada', 'old-password-1', email);
    expect((await call(t, 'POST', '/rpc/{app}/ada/user-password-reset-initiate')).status).toBe(204);
    const [mail] = await mailpit.waitForMails(email);
    const link = linkIn(mail!, `${t.baseUrl}/account/${t.appKey}/password-reset?token=`);

    const { page, problems } = await openPage(t.baseUrl);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(await page.title()).toBe('Choose a new password · Bookshelf');
    // The stylesheet loaded under the page's CSP.
    const cursor = await page
      .getByRole('button')
      .evaluate(
        (button) =>
          (globalThis as unknown as { getComputedStyle: (e: unknown) => { cursor: string } }).getComputedStyle(button)
            .cursor,
      );
    expect(cursor).toBe('pointer');
    await page.getByLabel('New password', { exact: true }).fill('new-password-2');
    await page.getByLabel('New password, again').fill('new-password-2');
    if (documents === 'embedded') await screenshot(page, 'account-password-reset');
    await page.getByRole('button', { name: 'Set my new password' }).click();
    await page.getByRole('heading', { name: 'Your password is set' }).waitFor();

    expect((await login(t, 'ada', 'new-password-2')).status).toBe(200);
    expect((await login(t, 'ada', 'old-password-1')).status).toBe(401);
    await page.goto(link);
    await page.getByRole('heading', { name: 'This link does not work' }).waitFor();
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await page.context().close();
  });

  test('a verification link opened in the browser confirms the address with one click', async () => {
    const email = freshAddress('browser-verify');
    await signup(t, 'grace', 'password-g', email);
    expect((await call(t, 'POST', '/rpc/{app}/grace/user-email-verification-initiate')).status).toBe(204);
    const [mail] = await mailpit.waitForMails(email);
    const link = linkIn(mail!, `${t.baseUrl}/account/${t.appKey}/verify-email?token=`);

    const { page, problems } = await openPage(t.baseUrl);
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm my e-mail address' }).click();
    await page.getByRole('heading', { name: 'Your e-mail address is confirmed' }).waitFor();
    expect(problems).toEqual([]);

    const { token } = await login(t, 'grace', 'password-g');
    const me = (await (await call(t, 'GET', '/user/{app}/_me', { auth: `Kinvey ${token}` })).json()) as {
      _kmd: { emailVerification: { status: string; emailAddress: string } };
    };
    expect(me._kmd.emailVerification).toMatchObject({ status: 'confirmed', emailAddress: email });
    await page.context().close();
  });
});
