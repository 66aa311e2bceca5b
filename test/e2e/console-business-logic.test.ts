/**
 * The console's Business Logic section in a real browser: an app started from an apps file whose
 * kinvey-cli environment file has internal hooks (one of which throws), a scheduled endpoint and
 * a Flex service; the hooks are listed, and a failure triggered through the REST API shows under
 * "Recent errors" with its name and description. An app without Business Logic gets the
 * explanation instead.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { screenshot, signIn, startConsole, type ConsoleFixture } from '../support/browser';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

jest.setTimeout(90_000);

const APP_KEY = `kid_consolebl${Math.random().toString(36).slice(2, 8)}`;
// startConsole's fixture carries these secrets; an apps file of our own must use the same.
const APP_SECRET = 'console-app-secret-123';
const MASTER_SECRET = 'console-master-secret-456';

function writeAppsFile(dir: string): string {
  const internal = (code: string) => ({ type: 'internal', code });
  writeFileSync(
    path.join(dir, 'env.json'),
    JSON.stringify({
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: {
        orders: { type: 'internal', permissions: 'shared' },
        gadgets: {
          type: 'external',
          permissions: 'shared',
          service: 'catalog',
          serviceEnvironment: 'development',
          serviceObject: 'widgets',
        },
      },
      collectionHooks: {
        orders: {
          onPreSave: internal(
            "function onPreSave(request, response, modules) {\n  if (!request.body.total) throw new Error('an order needs a total (got ' + JSON.stringify(request.body) + ')');\n  response.continue();\n}",
          ),
          onPostFetch: internal('function onPostFetch(request, response, modules) { response.continue(); }'),
        },
        gadgets: {
          onPreSave: {
            type: 'external',
            service: 'catalog',
            serviceEnvironment: 'development',
            handlerName: 'stampGadget',
          },
        },
      },
      customEndpoints: {
        nightlyReport: {
          type: 'internal',
          code: 'function onRequest(request, response, modules) { response.body = { ok: true }; response.complete(200); }',
          schedule: { start: '2030-01-01T02:00:00.000Z', interval: 'daily' },
        },
        priceCheck: {
          type: 'external',
          service: 'catalog',
          serviceEnvironment: 'development',
          handlerName: 'checkPrice',
        },
      },
    }),
  );
  const appsFile = path.join(dir, 'apps.json');
  writeFileSync(
    appsFile,
    JSON.stringify([
      {
        appKey: APP_KEY,
        appSecret: APP_SECRET,
        masterSecret: MASTER_SECRET,
        name: 'Shop with Business Logic',
        environmentFile: './env.json',
        // Port 9 (discard): nothing answers; this test never calls the service.
        flexServices: { catalog: { host: 'http://127.0.0.1:9', secret: 'flex-shared-secret-xyz' } },
      },
    ]),
  );
  return appsFile;
}

describe('console: Business Logic (Chromium)', () => {
  let fx: ConsoleFixture;
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir('kinbase-console-bl-');
    fx = await startConsole({ KINBASE_APPS_FILE: writeAppsFile(dir) }, APP_KEY);
    await signIn(fx);
  }, 90_000);
  afterAll(async () => {
    await fx?.close();
    if (dir) removeTempDir(dir);
  });

  it('lists the hooks, endpoints, external collections and Flex services', async () => {
    const { page } = fx;
    await page.getByRole('link', { name: 'Business Logic' }).click();
    const hooks = page.getByTestId('bl-hooks');
    await expectText(hooks, 'onPreSave');
    const rows = await hooks.locator('tbody tr').allTextContents();
    expect(rows).toEqual([
      expect.stringMatching(/gadgets.*onPreSave.*Flex.*catalog.*stampGadget/),
      expect.stringMatching(/orders.*onPreSave.*internal/),
      expect.stringMatching(/orders.*onPostFetch.*internal/),
    ]);
    await expectText(page.getByTestId('bl-endpoints'), /nightlyReport.*every day/);
    await expectText(page.getByTestId('bl-endpoints'), 'checkPrice');
    await expectText(page.getByTestId('bl-external'), 'widgets');
    await expectText(page.getByTestId('bl-flex'), 'http://127.0.0.1:9');
    await page.getByTestId('no-recent-errors').waitFor();
    expect(await page.locator('body').textContent()).not.toContain('flex-shared-secret-xyz');
  });

  it('shows the error a failing hook raised, after a refresh, with its debug text', async () => {
    const { page } = fx;
    const user = (await fetch(`${fx.server.baseUrl}/user/${APP_KEY}`, {
      method: 'POST',
      headers: { Authorization: basic(APP_SECRET), 'Content-Type': 'application/json', 'X-Kinvey-API-Version': '5' },
      body: JSON.stringify({ username: 'shopper', password: 'shopper-pass-1' }),
    }).then((r) => r.json())) as { _kmd: { authtoken: string } };
    const failed = await fetch(`${fx.server.baseUrl}/appdata/${APP_KEY}/orders`, {
      method: 'POST',
      headers: { Authorization: `Kinvey ${user._kmd.authtoken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ item: 'teapot' }),
    });
    expect(failed.status).toBe(550);
    const answer = (await failed.json()) as { error: string; description: string };
    expect(answer.error).toBe('BLRuntimeError');

    await page.getByRole('button', { name: 'Refresh Business Logic' }).click();
    const row = page.getByTestId('recent-error').first();
    await expectText(row, 'BLRuntimeError');
    await expectText(row, answer.description);
    await expectText(row, 'onPreSave');
    await expectText(row, 'orders');
    await expectText(page.getByTestId('recent-error-count'), '1');
    await row.getByText('Debug', { exact: true }).click();
    await expectText(row.locator('pre'), 'an order needs a total');
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'business-logic');
    expect(fx.pageErrors).toEqual([]);
  });
});

describe('console: an app without Business Logic (Chromium)', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsole();
    await signIn(fx);
  }, 90_000);
  afterAll(async () => fx?.close());

  it('explains where Business Logic comes from', async () => {
    const { page } = fx;
    await page.getByRole('link', { name: 'Business Logic' }).click();
    await expectText(page.getByTestId('bl-empty'), 'environmentFile');
    await page.getByTestId('no-recent-errors').waitFor();
    expect(fx.pageErrors).toEqual([]);
  });
});

function basic(secret: string): string {
  return `Basic ${Buffer.from(`${APP_KEY}:${secret}`).toString('base64')}`;
}

async function expectText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 15_000 });
}
