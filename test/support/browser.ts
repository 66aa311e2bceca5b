/**
 * The real browser for console tests: Debian's Chromium (installed by .ci/run), driven by
 * playwright-core. A missing browser is an error that names the fix; tests never skip.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { makeTempDir, removeTempDir } from './temp-dirs';
import { startServerProcess, type ServerProcess } from './server-process';

export const CHROMIUM = process.env.KINBASE_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../..');
/** Where tests save their screenshots (the README shows the best ones, copied to docs/console/). */
export const SCREENSHOTS = process.env.KINBASE_SCREENSHOTS_DIR ?? path.join(ROOT, '.screenshots');

/** Starts headless Chromium; throws (loudly) when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    const problem = process.env.KINBASE_TEST_CHROMIUM_PROBLEM ?? 'it was not installed';
    throw new Error(
      `Chromium is missing at ${CHROMIUM} (${problem}): run scripts/install-chromium.sh (Debian's chromium package) or set KINBASE_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The machine's network is closed: without these Chromium keeps dialling Google's hosts.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface ConsoleFixture {
  server: ServerProcess;
  /** The origin the console is served from (kinbase's public URL). */
  origin: string;
  appKey: string;
  appSecret: string;
  masterSecret: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors, CSP violations and requests to any other origin: a test can assert there were none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * The built server on a temp data dir with one app, and a fresh browser page. `env` adds
 * settings (an apps file, for example).
 */
export async function startConsole(
  env: Record<string, string> = {},
  appKey = `kid_console${Math.random().toString(36).slice(2, 8)}`,
): Promise<ConsoleFixture> {
  const dataDir = makeTempDir('kinbase-console-');
  const appSecret = 'console-app-secret-123';
  const masterSecret = 'console-master-secret-456';
  const appEnv: Record<string, string> = env.KINBASE_APPS_FILE
    ? {}
    : {
        KINBASE_APP_KEY: appKey,
        KINBASE_APP_SECRET: appSecret,
        KINBASE_MASTER_SECRET: masterSecret,
        KINBASE_APP_NAME: 'Console Test',
      };
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServerProcess({ KINBASE_DATA_DIR: dataDir, ...appEnv, ...env });
    const origin = server.baseUrl.replace('127.0.0.1', 'localhost');
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, acceptDownloads: true });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    // The console works offline: every request it makes goes to kinbase itself (no CDN, no fonts),
    // or to the bucket kinbase is configured with, where file bytes go and come from.
    const bucket = env.GCS_API_ENDPOINT ?? env.S3_ENDPOINT;
    const allowed = [origin, ...(bucket ? [new URL(bucket).origin] : [])];
    context.on('request', (request) => {
      const url = request.url();
      if (!allowed.some((prefix) => url.startsWith(`${prefix}/`)) && !/^(data|blob):/.test(url))
        pageErrors.push(`request outside kinbase: ${url}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text()))
        pageErrors.push(message.text());
    });
    const started = server;
    const opened = browser;
    return {
      server,
      origin,
      appKey,
      appSecret,
      masterSecret,
      browser,
      context,
      page,
      pageErrors,
      close: async () => {
        await opened.close().catch(() => undefined);
        await started.stop();
        removeTempDir(dataDir);
      },
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    removeTempDir(dataDir);
    throw error;
  }
}

/** Opens the console and signs in with the app key and master secret. */
export async function signIn(
  fixture: ConsoleFixture,
  appKey = fixture.appKey,
  masterSecret = fixture.masterSecret,
): Promise<void> {
  const { page } = fixture;
  await page.goto(`${fixture.origin}/console/`);
  await page.getByLabel('App key').fill(appKey);
  await page.getByLabel('Master secret').fill(masterSecret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Saves a screenshot of the page as `<name>.png` under SCREENSHOTS. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Basic credentials of the fixture's app, for API calls a test makes beside the browser. */
export function masterAuth(fixture: ConsoleFixture): string {
  return `Basic ${Buffer.from(`${fixture.appKey}:${fixture.masterSecret}`).toString('base64')}`;
}
