/**
 * The console's frame in a real browser: served with a strict CSP, sign-in with the master
 * secret only, several apps in one tab, the Overview's handshake, store and traffic.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { masterAuth, screenshot, signIn, startConsole, type ConsoleFixture } from '../support/browser';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

describe('console: sign-in and overview (Chromium)', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsole();
  }, 60_000);
  afterAll(async () => fx?.close());

  it('is served under a CSP that allows only its own scripts', async () => {
    const answer = await fetch(`${fx.server.baseUrl}/console/`);
    expect(answer.status).toBe(200);
    const policy = answer.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-inline');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    for (const [file, type] of [
      ['app.js', 'text/javascript'],
      ['styles.css', 'text/css'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const asset = await fetch(`${fx.server.baseUrl}/console/${file}`);
      expect([asset.status, asset.headers.get('content-type')?.split(';')[0]]).toEqual([200, type]);
    }
    const redirect = await fetch(`${fx.server.baseUrl}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('console/');
  });

  it('refuses the app secret and a wrong secret, inline, and keeps nothing', async () => {
    await signInExpectingError(fx, fx.appSecret, /master secret/);
    await signInExpectingError(fx, 'not-the-secret', /InvalidCredentials/);
    expect(await fx.page.evaluate("sessionStorage.getItem('kinbase.console.apps')")).toBeNull();
  });

  it('signs in with the master secret and shows the handshake, the store, the data and the traffic', async () => {
    await seed(fx);
    await signIn(fx);
    const { page } = fx;
    await expectText(page.getByTestId('handshake'), 'Console Test');
    await expectText(page.getByTestId('store-kind'), 'Embedded');
    await expectText(page.getByTestId('storage-kind'), 'Local disk');
    await page.getByTestId('requests-total').filter({ hasText: /\d/ }).waitFor();
    await expectText(page.getByTestId('collections-total'), '1');
    await expectText(page.getByTestId('entities-total'), '2');
    await expectText(page.getByTestId('users-total'), '1');
    // The rate needs two samples of /metrics, a few seconds apart.
    await expectText(page.getByTestId('request-rate'), /\d+\.\d req\/s/);
    // The secret is in this tab's sessionStorage only.
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('kinbase.console.apps')")).toContain(fx.masterSecret);
    await screenshot(page, 'overview');
    expect(fx.pageErrors).toEqual([]);
  });

  it('a link to /console/#/<appKey> opens the sign-in with the app key filled in', async () => {
    const context = await fx.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${fx.origin}/console/#/${fx.appKey}`);
    await expect(page.getByLabel('App key').inputValue()).resolves.toBe(fx.appKey);
    await context.close();
  });

  it('a reload stays signed in; signing out forgets the secret', async () => {
    const { page } = fx;
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('kinbase.console.apps')")).toBe('[]');
  });
});

/** Two entities in one collection and one user, made through the REST API. */
async function seed(fx: ConsoleFixture): Promise<void> {
  const headers = { Authorization: masterAuth(fx), 'Content-Type': 'application/json' };
  for (const body of [{ title: 'one' }, { title: 'two' }]) {
    const answer = await fetch(`${fx.server.baseUrl}/appdata/${fx.appKey}/notes`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(201);
  }
  const user = await fetch(`${fx.server.baseUrl}/user/${fx.appKey}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ username: 'ada', password: 'lovelace-123' }),
  });
  expect(user.status).toBe(201);
}

async function signInExpectingError(fx: ConsoleFixture, secret: string, message: RegExp): Promise<void> {
  const { page } = fx;
  await page.goto(`${fx.origin}/console/`);
  await page.getByLabel('App key').fill(fx.appKey);
  await page.getByLabel('Master secret').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.getByRole('alert'), message);
}

async function expectText(locator: import('playwright-core').Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
}

describe('console: several apps in one tab (Chromium)', () => {
  let fx: ConsoleFixture;
  let appsDir: string;
  const apps = [
    {
      appKey: 'kid_consoleone',
      appSecret: 'one-app-secret-123',
      masterSecret: 'one-master-secret-456',
      name: 'First App',
    },
    {
      appKey: 'kid_consoletwo',
      appSecret: 'two-app-secret-123',
      masterSecret: 'two-master-secret-456',
      name: 'Second App',
    },
  ];
  beforeAll(async () => {
    appsDir = makeTempDir('kinbase-console-apps-');
    const file = path.join(appsDir, 'apps.json');
    writeFileSync(file, JSON.stringify(apps));
    fx = await startConsole({ KINBASE_APPS_FILE: file });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    removeTempDir(appsDir);
  });

  it('signs in to two apps and switches between them without signing in again', async () => {
    const [first, second] = apps as [(typeof apps)[0], (typeof apps)[0]];
    await signIn(fx, first.appKey, first.masterSecret);
    const { page } = fx;
    await expectText(page.getByTestId('handshake'), 'First App');
    await page.getByTestId('app-switcher').selectOption('+');
    await page.getByLabel('App key').fill(second.appKey);
    await page.getByLabel('Master secret').fill(second.masterSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByTestId('handshake'), 'Second App');
    await page.getByTestId('app-switcher').selectOption(first.appKey);
    await expectText(page.getByTestId('handshake'), 'First App');
    expect(page.url()).toContain(`#/${first.appKey}/overview`);
    expect(fx.pageErrors).toEqual([]);
  });
});

describe('console: on MongoDB (FerretDB) (Chromium)', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    const url = process.env.KINBASE_TEST_MONGODB_URL;
    if (!url) throw new Error('KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup did not start FerretDB');
    fx = await startConsole({
      MONGODB_URL: url,
      MONGODB_DB_PREFIX: `console${Math.random().toString(36).slice(2, 8)}_`,
    });
  }, 60_000);
  afterAll(async () => fx?.close());

  it('shows MongoDB as the store and lists its collections with their counts', async () => {
    await seed(fx);
    const headers = { Authorization: masterAuth(fx), 'Content-Type': 'application/json' };
    const answer = await fetch(`${fx.server.baseUrl}/appdata/${fx.appKey}/gadgets`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'widget' }),
    });
    expect(answer.status).toBe(201);
    await signIn(fx);
    const { page } = fx;
    await expectText(page.getByTestId('store-kind'), 'MongoDB');
    await expectText(page.getByTestId('collections-total'), '2');
    await expectText(page.getByTestId('entities-total'), '3');
    await page.getByRole('link', { name: 'Collections' }).click();
    await expectText(page.getByTestId('collection-row-notes'), '2');
    await expectText(page.getByTestId('collection-row-gadgets'), '1');
    expect(fx.pageErrors).toEqual([]);
  });
});
