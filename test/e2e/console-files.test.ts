/**
 * The console's Files section in a real browser: the grid with thumbnails (the `thumb` variant over
 * its placeholder, not the original) that load under the CSP,
 * pending files marked, the list view, drag-and-drop uploads through the two-step API and the
 * resumable protocol (also across a dropped chunk), public/private, download and delete.
 */
import { createHash } from 'node:crypto';
import { createTestBucket, removeServiceAccountKey, writeServiceAccountKey } from '../support/gcs-key';
import { createTestS3Bucket, TEST_S3_CREDENTIALS, testS3Endpoint } from '../support/versitygw';
import { makePng, type Rgb } from '../support/png';
import type { Locator, Page } from 'playwright-core';
import { masterAuth, screenshot, signIn, startConsole, type ConsoleFixture } from '../support/browser';

// Globals of the functions this file runs inside the page (the test program has no DOM lib).
interface PageElement {
  dispatchEvent(event: unknown): boolean;
  getAttribute(name: string): string | null;
}
interface PageImage {
  complete: boolean;
  naturalWidth: number;
  style: { backgroundImage: string };
}
declare const document: {
  querySelector(selector: string): unknown;
  querySelectorAll(selector: string): { length: number };
  body: unknown;
};
declare const window: unknown;
declare const File: new (parts: unknown[], name: string, options: { type: string }) => unknown;
declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const DragEvent: new (type: string, init: Record<string, unknown>) => unknown;
declare const MutationObserver: new (callback: (records: { target: unknown }[]) => void) => {
  observe(target: unknown, options: Record<string, unknown>): void;
};

const MiB = 1024 * 1024;

interface BlobRecord {
  _id: string;
  _filename: string;
  size?: number;
  mimeType?: string;
  _public?: boolean;
  _downloadURL: string;
  _uploadState?: { status: string; md5: string | null };
}

/** The Files API as the tests call it (master credentials): records, seeded bytes, downloads. */
function filesApi(fx: ConsoleFixture) {
  const api = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown }> => {
    const answer = await fetch(`${fx.server.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: masterAuth(fx),
        'X-Kinvey-API-Version': '5',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    return { status: answer.status, body: text ? JSON.parse(text) : null };
  };
  const findByName = async (name: string): Promise<BlobRecord | undefined> => {
    const query = encodeURIComponent(JSON.stringify({ _filename: name }));
    const answer = await api('GET', `/blob/${fx.appKey}?query=${query}`);
    return (answer.body as BlobRecord[])[0];
  };
  const downloadMd5 = async (record: BlobRecord): Promise<string> => {
    const answer = await fetch(record._downloadURL);
    expect(answer.status).toBe(200);
    return createHash('md5')
      .update(Buffer.from(await answer.arrayBuffer()))
      .digest('hex');
  };
  return {
    api,
    seedFile: async (name: string, mimeType: string, bytes: Buffer, isPublic = false): Promise<void> => {
      const ticket = await api(
        'POST',
        `/blob/${fx.appKey}`,
        { _filename: name, mimeType, size: bytes.length, _public: isPublic },
        { 'X-Kinvey-Content-Type': mimeType },
      );
      expect(ticket.status).toBe(201);
      const { _uploadURL, _requiredHeaders } = ticket.body as {
        _uploadURL: string;
        _requiredHeaders: Record<string, string>;
      };
      const put = await fetch(_uploadURL, {
        method: 'PUT',
        headers: { ..._requiredHeaders, 'Content-Type': mimeType },
        body: bytes,
      });
      expect(put.status).toBe(200);
    },
    findByName,
    downloadMd5,
    /** The file the page uploaded: stored complete, with `md5`, and its download gives those bytes. */
    expectStoredWhole: async (name: string, size: number, md5: string): Promise<BlobRecord> => {
      const stored = await findByName(name);
      expect(stored).toMatchObject({ size, _uploadState: { status: 'complete', md5 } });
      expect(await downloadMd5(stored!)).toBe(md5);
      return stored!;
    },
  };
}

describe('console: Files (Chromium)', () => {
  let fx: ConsoleFixture;
  let api: ReturnType<typeof filesApi>['api'];
  let seedFile: ReturnType<typeof filesApi>['seedFile'];
  let findByName: ReturnType<typeof filesApi>['findByName'];
  let downloadMd5: ReturnType<typeof filesApi>['downloadMd5'];
  let expectStoredWhole: ReturnType<typeof filesApi>['expectStoredWhole'];

  beforeAll(async () => {
    fx = await startConsole();
    ({ api, seedFile, findByName, downloadMd5, expectStoredWhole } = filesApi(fx));
    await seedFile('sunset-photo.png', 'image/png', png(96, 64, [240, 120, 60]));
    await seedFile('brand-logo.png', 'image/png', png(48, 48, [59, 91, 219]), true);
    await seedFile('release-notes.txt', 'text/plain', Buffer.from('kinbase 1.0\n- files in the console\n'));
    await seedFile('old-draft.txt', 'text/plain', Buffer.from('to be deleted\n'));
    // Metadata saved, bytes never sent: a pending upload.
    await api(
      'POST',
      `/blob/${fx.appKey}`,
      { _filename: 'quarterly-report.pdf', mimeType: 'application/pdf', size: 482_113, _public: false },
      { 'X-Kinvey-Content-Type': 'application/pdf' },
    );
    await signIn(fx);
    await fx.page.goto(`${fx.origin}/console/#/${fx.appKey}/files`);
    await card(fx.page, 'sunset-photo.png').waitFor({ timeout: 15_000 });
  }, 90_000);
  afterAll(async () => fx?.close());

  it('shows a grid with thumbnails, sizes, types, public/private badges and the pending file; and a list view', async () => {
    const { page } = fx;
    const photo = card(page, 'sunset-photo.png');
    // The tile is the 128 x 128 `thumb` variant (the original is 96 x 64), its placeholder painted under it.
    expect(await loadedThumbnailWidth(page, photo)).toBe(128);
    expect(await photo.locator('img').getAttribute('src')).toContain('/blob-variants/');
    expect(await photo.locator('img').evaluate((img) => (img as unknown as PageImage).style.backgroundImage)).toMatch(
      /^url\("data:image\/png;base64,/,
    );
    await expect(photo.getByTestId('file-type').textContent()).resolves.toBe('image/png');
    await expect(photo.locator('.badge.private').count()).resolves.toBe(1);
    await expect(card(page, 'brand-logo.png').locator('.badge.public').count()).resolves.toBe(1);
    const notes = card(page, 'release-notes.txt');
    await expect(notes.getByTestId('file-size').textContent()).resolves.toBe('35 B');
    await expect(notes.getByTestId('file-type').textContent()).resolves.toBe('text/plain');
    const pending = card(page, 'quarterly-report.pdf');
    await pending.getByTestId('pending-badge').waitFor();
    await expect(notes.getByTestId('pending-badge').count()).resolves.toBe(0);
    await screenshot(page, 'files-grid');

    await page.getByRole('button', { name: 'List' }).click();
    const table = page.getByTestId('file-table');
    await table.waitFor();
    await table.getByRole('button', { name: 'release-notes.txt' }).waitFor();
    await page
      .getByTestId('file-row')
      .filter({ hasText: 'quarterly-report.pdf' })
      .getByTestId('pending-badge')
      .waitFor();
    await page.getByRole('button', { name: 'Grid' }).click();
    await page.getByTestId('file-grid').waitFor();

    await page.getByLabel('Search filenames').fill('NOTES');
    await page.getByTestId('file-card').filter({ hasText: 'sunset-photo.png' }).waitFor({ state: 'detached' });
    await expect(page.getByTestId('file-card').count()).resolves.toBe(1);
    await page.getByLabel('Search filenames').fill('');
    await card(page, 'sunset-photo.png').waitFor();
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);

  it('uploads a 20 MB file dropped on the dropzone, with a progress bar that reaches 100 %', async () => {
    const { page } = fx;
    const seed = 20260;
    const expected = createHash('md5')
      .update(pseudoRandomBytes(20 * MiB, seed))
      .digest('hex');
    await recordProgress(page);
    await dropGeneratedFile(page, 'big.bin', 20 * MiB, seed);

    const row = page.getByTestId('upload-row').filter({ hasText: 'big.bin' });
    await row
      .locator('[data-status="done"], [data-testid="upload-status"]')
      .filter({ hasText: 'Uploaded' })
      .waitFor({ timeout: 120_000 });
    expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    const seen = await progressSeen(page);
    expect(seen.some((value) => value > 0 && value < 100)).toBe(true);
    expect(seen[seen.length - 1]).toBe(100);

    await expectStoredWhole('big.bin', 20 * MiB, expected);
    // The list refreshed with the new file, not pending.
    const fresh = card(page, 'big.bin');
    await fresh.waitFor({ timeout: 15_000 });
    await expect(fresh.getByTestId('pending-badge').count()).resolves.toBe(0);
    expect(fx.pageErrors).toEqual([]);
  }, 180_000);

  it('resumes an upload whose third chunk loses its connection, and stores identical bytes', async () => {
    const { page } = fx;
    const bytes = pseudoRandomBytes(14 * MiB, 777);
    const expected = createHash('md5').update(bytes).digest('hex');
    let chunks = 0;
    let aborted = false;
    await page.route('**/storage/upload/**', async (route) => {
      const range = route.request().headers()['content-range'] ?? '';
      if (range.startsWith('bytes */')) {
        // Hold the status probe a moment, so the resuming state is on screen for the screenshot.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return route.continue();
      }
      chunks += 1;
      if (chunks === 3 && !aborted) {
        aborted = true;
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    try {
      await page
        .getByTestId('file-input')
        .setInputFiles({ name: 'camera-roll.mov', mimeType: 'video/quicktime', buffer: bytes });
      const row = page.getByTestId('upload-row').filter({ hasText: 'camera-roll.mov' });
      await row
        .getByTestId('upload-status')
        .filter({ hasText: /Reconnecting|Resuming/ })
        .waitFor({ timeout: 60_000 });
      await row.getByTestId('upload-status').filter({ hasText: 'Resuming' }).waitFor({ timeout: 30_000 });
      const during = Number(await row.getByRole('progressbar').getAttribute('aria-valuenow'));
      expect(during).toBeGreaterThan(0);
      expect(during).toBeLessThan(100);
      await screenshot(page, 'files-upload');
      await row.getByTestId('upload-status').filter({ hasText: 'Uploaded' }).waitFor({ timeout: 120_000 });
      expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    } finally {
      await page.unroute('**/storage/upload/**');
    }
    expect(aborted).toBe(true);
    expect(await expectStoredWhole('camera-roll.mov', 14 * MiB, expected)).toMatchObject({
      mimeType: 'video/quicktime',
    });
    expect(fx.pageErrors).toEqual([]);
  }, 180_000);

  it('makes a private file public and back, keeping its bytes; the download link is its _downloadURL', async () => {
    const { page } = fx;
    const before = await findByName('release-notes.txt');
    expect(before?._public).toBe(false);
    const original = await downloadMd5(before!);
    await card(page, 'release-notes.txt').getByRole('button', { name: /Open/ }).click();
    const details = page.getByRole('dialog', { name: 'release-notes.txt' });
    const link = details.getByTestId('download-link');
    expect((await link.getAttribute('href'))?.split('?')[0]).toBe(before!._downloadURL.split('?')[0]);
    expect(await link.getAttribute('download')).toBe('release-notes.txt');

    await details.getByRole('button', { name: 'Make public' }).click();
    await details.getByRole('button', { name: 'Make private' }).waitFor();
    const made = await findByName('release-notes.txt');
    expect(made?._public).toBe(true);
    expect(await downloadMd5(made!)).toBe(original);
    expect(await details.getByTestId('download-link').getAttribute('href')).toBe(made!._downloadURL);
    // The PUT opened a re-upload URL, but the file is whole: the bytes it serves are named, not pending.
    expect(made?._uploadState).toMatchObject({ status: 'pending', previous: { md5: original } });
    await details
      .getByTestId('upload-state')
      .filter({ hasText: /^complete/ })
      .waitFor();
    await expect(card(page, 'release-notes.txt').getByTestId('pending-badge').count()).resolves.toBe(0);
    await card(page, 'release-notes.txt').locator('.badge.public').waitFor();

    await details.getByRole('button', { name: 'Make private' }).click();
    await details.getByRole('button', { name: 'Make public' }).waitFor();
    const back = await findByName('release-notes.txt');
    expect(back?._public).toBe(false);
    expect(await downloadMd5(back!)).toBe(original);
    await details.getByRole('button', { name: 'Close' }).click();
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);

  it('deletes a file after confirming; the API then answers 404', async () => {
    const { page } = fx;
    const draft = await findByName('old-draft.txt');
    await card(page, 'old-draft.txt').getByRole('button', { name: /Open/ }).click();
    const details = page.getByRole('dialog', { name: 'old-draft.txt' });
    await details.getByRole('button', { name: 'Delete…' }).click();
    await details.getByRole('button', { name: 'Yes, delete' }).click();
    await details.waitFor({ state: 'detached' });
    await card(page, 'old-draft.txt').waitFor({ state: 'detached' });
    expect((await api('GET', `/blob/${fx.appKey}/${draft!._id}`)).status).toBe(404);
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);

  it("edits a private file's ACL (globally readable, one more reader) and keeps its bytes", async () => {
    const { page } = fx;
    await seedFile('team-roster.txt', 'text/plain', Buffer.from('ada, alan, grace\n'));
    const before = await findByName('team-roster.txt');
    expect(before?._public).toBe(false);
    const original = await downloadMd5(before!);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await card(page, 'team-roster.txt').getByRole('button', { name: /Open/ }).click();
    const details = page.getByRole('dialog', { name: 'team-roster.txt' });
    await details.getByTestId('file-acl').filter({ hasText: 'Global read' }).waitFor();
    await details.getByRole('button', { name: 'Edit the ACL of team-roster.txt' }).click();

    const editor = page.getByTestId('acl-editor');
    await expect(editor.getByTestId('acl-creator').textContent()).resolves.toBe(fx.appKey);
    await editor.getByLabel('Globally readable (gr)').check();
    const readers = editor.getByLabel('Readers (r): user ids');
    await readers.fill('user-7');
    await readers.press('Enter');
    await editor.getByRole('button', { name: 'Remove user-7' }).waitFor();
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 15_000 });
    await screenshot(page, 'files-acl');
    await editor.getByRole('button', { name: 'Save ACL' }).click();
    await editor.waitFor({ state: 'detached', timeout: 15_000 });

    // Back on the details, which show the stored ACL.
    await page.getByTestId('file-acl').filter({ hasText: 'user-7' }).waitFor({ timeout: 15_000 });
    const stored = (await findByName('team-roster.txt')) as BlobRecord & { _acl: Record<string, unknown> };
    expect(stored._acl).toMatchObject({ creator: fx.appKey, gr: true, r: ['user-7'] });
    expect(stored._public).toBe(false);
    expect(stored.size).toBe(before!.size);
    expect(await downloadMd5(stored)).toBe(original);
    await page.getByRole('dialog', { name: 'team-roster.txt' }).getByRole('button', { name: 'Close' }).click();
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);
});

describe('console: Files with 1,000 files (Chromium)', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsole();
    const names = Array.from({ length: 1000 }, (_, i) => `report-${String(i).padStart(4, '0')}.txt`);
    const { seedFile } = filesApi(fx);
    const seedOne = (name: string) => seedFile(name, 'text/plain', Buffer.from(name));
    for (let i = 0; i < names.length; i += 20) await Promise.all(names.slice(i, i + 20).map(seedOne));
    await signIn(fx);
  }, 180_000);
  afterAll(async () => fx?.close());

  it('pages 1,000 files 100 at a time and finds one by name', async () => {
    const { page } = fx;
    await page.goto(`${fx.origin}/console/#/${fx.appKey}/files`);
    await page.getByTestId('page-range').filter({ hasText: '1–100' }).waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('file-card').count()).resolves.toBe(100);
    await page.getByRole('button', { name: 'Next ›' }).click();
    await page.getByTestId('page-range').filter({ hasText: '101–200' }).waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('file-card').count()).resolves.toBe(100);
    await page.getByLabel('Search filenames').fill('report-0999');
    await page.getByTestId('file-card').filter({ hasText: 'report-0999.txt' }).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="file-card"]').length === 1, undefined, {
      timeout: 30_000,
    });
    expect(fx.pageErrors).toEqual([]);
  }, 120_000);

  it("keeps the page a quick click on Next opened, before the search box's pause has passed", async () => {
    // The browser's clock moves only when the test moves it, in frames short of the view's first
    // 250 ms, so the click lands inside them on any machine. (The last test of this tab.)
    const { page } = fx;
    await page.clock.install();
    await page.goto(`${fx.origin}/console/#/${fx.appKey}/overview`);
    await page.reload();
    await page.getByRole('link', { name: 'Files' }).waitFor();
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    const asked = (skip: number) =>
      page.waitForRequest(
        (r) => r.url().includes('/blob/') && new URL(r.url()).searchParams.get('skip') === String(skip),
        { timeout: 30_000 },
      );
    const firstAsked = asked(0);
    await page.getByRole('link', { name: 'Files' }).click();
    // The hash change renders the view in its own task; its effects wait for the next frame.
    await page.getByLabel('Search filenames').waitFor({ timeout: 30_000 });
    await page.clock.runFor(80); // effects run after a frame: the first page is asked for
    await firstAsked;
    await page.getByTestId('page-range').filter({ hasText: '1–100' }).waitFor({ timeout: 30_000 });
    const names = () => page.getByTestId('file-card').locator('.name').allTextContents();
    const first = await names();
    const secondAsked = asked(100);
    await page.getByRole('button', { name: 'Next ›' }).click();
    await page.clock.runFor(80); // 160 ms since the view opened
    await secondAsked;
    await page.getByTestId('page-range').filter({ hasText: '101–200' }).waitFor({ timeout: 30_000 });
    await page.clock.runFor(1000);
    await page.getByRole('button', { name: 'Refresh' }).and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('page-range').textContent()).resolves.toBe('101–200');
    const second = await names();
    expect(second).toHaveLength(100);
    expect(second.filter((name) => first.includes(name))).toEqual([]);
    expect(fx.pageErrors).toEqual([]);
  }, 120_000);
});

describe('console: Files on Google Cloud Storage (fake-gcs-server) (Chromium)', () => {
  let fx: ConsoleFixture;
  let files: ReturnType<typeof filesApi>;
  let keyFile: string | undefined;
  beforeAll(async () => {
    const endpoint = process.env.KINBASE_TEST_GCS_ENDPOINT;
    if (!endpoint)
      throw new Error('KINBASE_TEST_GCS_ENDPOINT is not set: the jest globalSetup did not start fake-gcs-server');
    keyFile = writeServiceAccountKey(endpoint);
    fx = await startConsole({
      KINBASE_STORAGE: 'gcs',
      GCS_BUCKET: await createTestBucket(endpoint),
      GCS_KEY_FILE: keyFile,
      GCS_API_ENDPOINT: endpoint,
    });
    files = filesApi(fx);
    await files.seedFile('bucket-photo.png', 'image/png', png(40, 30, [20, 160, 90]));
    await signIn(fx);
    await fx.page.goto(`${fx.origin}/console/#/${fx.appKey}/files`);
    await fx.page.getByTestId('dropzone').waitFor({ timeout: 15_000 });
  }, 90_000);
  afterAll(async () => {
    await fx?.close();
    if (keyFile) removeServiceAccountKey(keyFile);
  });

  it("shows a private image's thumbnail from its signed bucket URL, under the CSP", async () => {
    const { page } = fx;
    const photo = card(page, 'bucket-photo.png');
    // The `thumb` variant (the original is 40 x 30): kinbase's link redirects to the signed bucket URL.
    expect(await loadedThumbnailWidth(page, photo)).toBe(128);
    expect(await photo.locator('img').getAttribute('src')).toContain('/blob-variants/');
    await page.reload();
    // Once made, the tile loads the variant straight from its signed bucket URL.
    await card(page, 'bucket-photo.png').waitFor({ timeout: 15_000 });
    expect(await loadedThumbnailWidth(page, card(page, 'bucket-photo.png'))).toBe(128);
    expect(new URL((await card(page, 'bucket-photo.png').locator('img').getAttribute('src'))!).origin).toBe(
      new URL(process.env.KINBASE_TEST_GCS_ENDPOINT as string).origin,
    );
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);

  it('uploads a 20 MB file straight to the bucket, cross-origin, chunk by chunk to 100 %', async () => {
    const { page } = fx;
    const seed = 4242;
    const expected = createHash('md5')
      .update(pseudoRandomBytes(20 * MiB, seed))
      .digest('hex');
    await recordProgress(page);
    await dropGeneratedFile(page, 'bucket-upload.bin', 20 * MiB, seed);
    const row = page.getByTestId('upload-row').filter({ hasText: 'bucket-upload.bin' });
    await row
      .getByTestId('upload-status')
      .filter({ hasText: /Uploaded|failed|Failed/ })
      .waitFor({ timeout: 120_000 });
    await expect(row.getByTestId('upload-status').textContent()).resolves.toMatch(/Uploaded/);
    expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    const seen = await progressSeen(page);
    expect(seen.some((value) => value > 0 && value < 100)).toBe(true);

    await files.expectStoredWhole('bucket-upload.bin', 20 * MiB, expected);
    await card(page, 'bucket-upload.bin').waitFor({ timeout: 15_000 });
    expect(fx.pageErrors).toEqual([]);
  }, 180_000);
});

describe('console: Files on S3 (versitygw) (Chromium)', () => {
  let fx: ConsoleFixture;
  let files: ReturnType<typeof filesApi>;
  beforeAll(async () => {
    const endpoint = testS3Endpoint();
    fx = await startConsole({
      KINBASE_STORAGE: 's3',
      S3_BUCKET: await createTestS3Bucket(endpoint),
      S3_ENDPOINT: endpoint,
      S3_REGION: TEST_S3_CREDENTIALS.region,
      S3_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    files = filesApi(fx);
    await files.seedFile('s3-photo.png', 'image/png', png(40, 30, [160, 20, 90]));
    await signIn(fx);
    await fx.page.goto(`${fx.origin}/console/#/${fx.appKey}/files`);
    await fx.page.getByTestId('dropzone').waitFor({ timeout: 15_000 });
  }, 90_000);
  afterAll(async () => {
    await fx?.close();
  });

  it("shows a private image's thumbnail from its presigned bucket URL, under the CSP", async () => {
    const { page } = fx;
    const photo = card(page, 's3-photo.png');
    // The `thumb` variant (the original is 40 x 30): kinbase's link redirects to the presigned bucket URL.
    expect(await loadedThumbnailWidth(page, photo)).toBe(128);
    expect(await photo.locator('img').getAttribute('src')).toContain('/blob-variants/');
    await page.reload();
    // Once made, the tile loads the variant straight from its presigned bucket URL.
    await card(page, 's3-photo.png').waitFor({ timeout: 15_000 });
    expect(await loadedThumbnailWidth(page, card(page, 's3-photo.png'))).toBe(128);
    expect(new URL((await card(page, 's3-photo.png').locator('img').getAttribute('src'))!).origin).toBe(
      new URL(testS3Endpoint()).origin,
    );
    expect(fx.pageErrors).toEqual([]);
  }, 60_000);

  it('uploads a 12 MB file through kinbase into the bucket, chunk by chunk to 100 %', async () => {
    const { page } = fx;
    const seed = 2626;
    const expected = createHash('md5')
      .update(pseudoRandomBytes(12 * MiB, seed))
      .digest('hex');
    await recordProgress(page);
    await dropGeneratedFile(page, 's3-upload.bin', 12 * MiB, seed);
    const row = page.getByTestId('upload-row').filter({ hasText: 's3-upload.bin' });
    await row
      .getByTestId('upload-status')
      .filter({ hasText: /Uploaded|failed|Failed/ })
      .waitFor({ timeout: 120_000 });
    await expect(row.getByTestId('upload-status').textContent()).resolves.toMatch(/Uploaded/);
    expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    await files.expectStoredWhole('s3-upload.bin', 12 * MiB, expected);
    await card(page, 's3-upload.bin').waitFor({ timeout: 15_000 });
    expect(fx.pageErrors).toEqual([]);
  }, 180_000);
});

/** Drops a generated file (xorshift32 bytes from `seed`) on the dropzone, as a user dragging it in. */
async function dropGeneratedFile(page: Page, name: string, size: number, seed: number): Promise<void> {
  await page.evaluate(
    ({ name: filename, size: length, seed: start }) => {
      const bytes = new Uint8Array(length);
      let x = start >>> 0;
      for (let i = 0; i < length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        bytes[i] = x & 0xff;
      }
      const file = new File([bytes], filename, { type: 'application/octet-stream' });
      const transfer = new DataTransfer();
      transfer.items.add(file);
      const zone = document.querySelector('[data-testid="dropzone"]') as PageElement;
      for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name, size, seed },
  );
}

function card(page: Page, name: string): Locator {
  return page
    .getByTestId('file-card')
    .filter({ has: page.locator('.name', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) }) });
}

/** Waits until the card's thumbnail has loaded (under the CSP) and returns its natural width. */
async function loadedThumbnailWidth(page: Page, fileCard: Locator): Promise<number> {
  const image = fileCard.locator('img');
  await image.waitFor({ timeout: 15_000 });
  await page.waitForFunction(
    (id) => {
      const img = document.querySelector(`[data-file-id="${id}"] img`) as PageImage | null;
      return !!img && img.complete && img.naturalWidth > 0;
    },
    await fileCard.getAttribute('data-file-id'),
    { timeout: 15_000 },
  );
  return image.evaluate((img) => (img as unknown as PageImage).naturalWidth);
}

/** The aria-valuenow values recorded since `recordProgress`. */
function progressSeen(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as { progressSeen: number[] }).progressSeen);
}

/** Records every aria-valuenow the page's progress bars take from now on. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver((records) => {
      for (const record of records) {
        const target = record.target as PageElement;
        if (target.getAttribute?.('role') === 'progressbar') seen.push(Number(target.getAttribute('aria-valuenow')));
      }
    }).observe(document.body, { attributes: true, attributeFilter: ['aria-valuenow'], subtree: true });
  });
}

/** The same xorshift32 bytes the page generates. */
function pseudoRandomBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A real PNG: a colour gradient of width × height. */
function png(width: number, height: number, [r, g, b]: Rgb): Buffer {
  return makePng(width, height, (x, y) => {
    const shade = (x + y) / (width + height);
    return [r * (1 - shade) + 255 * shade * 0.3, g * (1 - shade * 0.5), b * (0.6 + shade * 0.4)];
  });
}
