/**
 * bench:console — does the console stay responsive as an app grows? The built server runs with a
 * small and a large app side by side (100 vs 10,000 entities in one collection, 100 vs 1,000
 * files: each small one fills exactly one page of its view); headless Chromium opens the same
 * views on both and the bench prints, per view, the time to a rendered page, the time of a sort
 * or a page turn, and the DOM size, as large/small ratios. Paged views should give ratios near 1.
 *
 *   npm run bench:console [-- --rounds 5]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startKinbase, stopAll, type Kinbase } from './kinbase-process';

const CHROMIUM = process.env.KINBASE_CHROMIUM ?? '/usr/bin/chromium';
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const APP = { key: 'kid_bench', secret: 'bench-app-secret-1', master: 'bench-master-secret-1' };
const auth = `Basic ${Buffer.from(`${APP.key}:${APP.master}`).toString('base64')}`;

async function api(server: Kinbase, method: string, url: string, body?: unknown): Promise<Response> {
  const answer = await fetch(`${server.base}${url}`, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${method} ${url}: ${answer.status} ${await answer.text()}`);
  return answer;
}

/** Runs `jobs` with at most `width` at a time. */
async function inParallel(count: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

async function seed(server: Kinbase, entities: number, files: number): Promise<void> {
  await inParallel(entities, 16, async (i) => {
    await api(server, 'POST', `/appdata/${APP.key}/books`, {
      title: `Book ${i}`,
      year: 1900 + (i % 125),
      author: `Author ${i % 300}`,
      tags: ['a', 'b'],
      pages: 100 + (i % 700),
    });
  });
  await inParallel(files, 8, async (i) => {
    const meta = (await (
      await api(server, 'POST', `/blob/${APP.key}`, {
        _filename: `image-${i}.png`,
        mimeType: 'image/png',
        size: PNG.length,
      })
    ).json()) as { _uploadURL: string; _requiredHeaders?: Record<string, string> };
    const put = await fetch(meta._uploadURL, {
      method: 'PUT',
      headers: { ...meta._requiredHeaders, 'Content-Type': 'image/png' },
      body: PNG,
    });
    if (put.status >= 300) throw new Error(`upload ${i}: ${put.status}`);
  });
}

interface Timing {
  open: number;
  action: number;
  domNodes: number;
}

async function signIn(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel('App key').fill(APP.key);
  await page.getByLabel('Master secret').fill(APP.master);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Opens a view from the Overview and waits for its rows; then runs `action` and waits for `changed`. */
async function measure(
  page: Page,
  origin: string,
  hash: string,
  rows: string,
  action: (page: Page) => Promise<void>,
  changed: (page: Page) => Promise<void>,
): Promise<Timing> {
  await page.goto(`${origin}/console/#/${APP.key}/overview`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const started = Date.now();
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await page.locator(rows).first().waitFor({ timeout: 60_000 });
  const open = Date.now() - started;
  const acted = Date.now();
  await action(page);
  await changed(page);
  const actionMs = Date.now() - acted;
  const domNodes = await page.evaluate<number>('document.getElementsByTagName("*").length');
  return { open, action: actionMs, domNodes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/install-chromium.sh`);
  const dirs = [
    mkdtempSync(path.join(tmpdir(), 'kinbase-bench-console-')),
    mkdtempSync(path.join(tmpdir(), 'kinbase-bench-console-')),
  ];
  const env = { KINBASE_APP_KEY: APP.key, KINBASE_APP_SECRET: APP.secret, KINBASE_MASTER_SECRET: APP.master };
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const small = await startKinbase('small', { ...env, KINBASE_DATA_DIR: dirs[0] as string });
    const large = await startKinbase('large', { ...env, KINBASE_DATA_DIR: dirs[1] as string });
    process.stdout.write('seeding 100 entities + 100 files, and 10,000 entities + 1,000 files ...\n');
    await Promise.all([seed(small, 100, 100), seed(large, 10_000, 1_000)]);
    const views = [
      {
        name: 'entity table (sort by title)',
        hash: `#/${APP.key}/collections/books`,
        rows: '[data-testid=entity-table] tbody tr',
        action: async (page: Page) => page.getByRole('columnheader', { name: /title/ }).click(),
        changed: async (page: Page) =>
          page.locator('[data-testid=entity-table] tbody tr').first().filter({ hasText: 'Book 0' }).waitFor(),
      },
      {
        name: 'entity table (next page)',
        hash: `#/${APP.key}/collections/books`,
        rows: '[data-testid=entity-table] tbody tr',
        action: async (page: Page) => page.getByRole('button', { name: /Next/ }).first().click(),
        changed: async (page: Page) => page.getByTestId('page-range').filter({ hasText: /^51/ }).first().waitFor(),
      },
      {
        name: 'files grid (list view)',
        hash: `#/${APP.key}/files`,
        rows: '[data-testid=file-card]',
        action: async (page: Page) => page.getByRole('button', { name: /List/ }).first().click(),
        changed: async (page: Page) => page.locator('[data-testid=file-row]').first().waitFor(),
      },
    ];
    const lines = [
      '| view | open: small (100 entities / 100 files) | open: large (10,000 / 1,000) | ratio | action: small | action: large | ratio | DOM nodes small / large |',
      '|---|---|---|---|---|---|---|---|',
    ];
    for (const view of views) {
      const results: Record<'small' | 'large', Timing[]> = { small: [], large: [] };
      for (let round = 0; round < rounds; round += 1) {
        // Alternate the order each round, so neither size always runs on a warmer machine.
        const order: Array<['small' | 'large', Kinbase]> =
          round % 2 === 0
            ? [
                ['small', small],
                ['large', large],
              ]
            : [
                ['large', large],
                ['small', small],
              ];
        for (const [label, server] of order) {
          const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
          const page = await context.newPage();
          const origin = `http://localhost:${server.port}`;
          await signIn(page, origin);
          results[label].push(await measure(page, origin, view.hash, view.rows, view.action, view.changed));
          await context.close();
        }
      }
      const s = {
        open: median(results.small.map((r) => r.open)),
        action: median(results.small.map((r) => r.action)),
        dom: median(results.small.map((r) => r.domNodes)),
      };
      const l = {
        open: median(results.large.map((r) => r.open)),
        action: median(results.large.map((r) => r.action)),
        dom: median(results.large.map((r) => r.domNodes)),
      };
      lines.push(
        `| ${view.name} | ${s.open} ms | ${l.open} ms | ${(l.open / s.open).toFixed(2)}x | ${s.action} ms | ${l.action} ms | ${(l.action / s.action).toFixed(2)}x | ${s.dom} / ${l.dom} |`,
      );
    }
    process.stdout.write(`\nmedians of ${rounds} rounds, each in a fresh browser context:\n${lines.join('\n')}\n`);
  } finally {
    await browser.close();
    await stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (error) => {
  process.stderr.write(`bench:console failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
