/**
 * The console's Collections section in a real browser: the list, a 120-entity table paged and
 * sorted by the server, the filter box with the API's own errors, the JSON and ACL editors
 * (each change checked through the REST API), and a KinveyFile thumbnail loaded under the CSP.
 */
import { makePng } from '../support/png';
import type { Locator } from 'playwright-core';
import { masterAuth, screenshot, signIn, startConsole, type ConsoleFixture } from '../support/browser';

const BOOKS = 120;
const TIMEOUT = 15_000;
const AUTHORS = [
  'Ursula K. Le Guin',
  'Italo Calvino',
  'Toni Morrison',
  'Jorge Luis Borges',
  'Octavia E. Butler',
  'Stanisław Lem',
];
const GENRES = ['novel', 'essays', 'poetry', 'science fiction', 'short stories'];

/** 120 distinct years 1900-2019 (37 and 120 are coprime), so sorting by year has no ties. */
function yearOf(i: number): number {
  return 1900 + ((i * 37) % BOOKS);
}

function idOf(i: number): string {
  return `book-${String(i).padStart(3, '0')}`;
}

describe('console: collections (Chromium)', () => {
  let fx: ConsoleFixture;
  let fileId: string;

  beforeAll(async () => {
    fx = await startConsole();
    fileId = await uploadCover(fx);
    for (let start = 0; start < BOOKS; start += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) => start + k).map((i) =>
          api(fx, 'POST', '/books', {
            _id: idOf(i),
            title: `${['The', 'A', 'On', 'Invisible', 'Left'][i % 5]} ${['Dispossessed', 'Cities', 'Beloved', 'Labyrinths', 'Kindred', 'Solaris'][i % 6]} ${i}`,
            author: AUTHORS[i % AUTHORS.length],
            year: yearOf(i),
            pages: 120 + ((i * 53) % 600),
            inPrint: i % 3 !== 0,
            tags: [GENRES[i % GENRES.length]],
            ...(i % 4 === 0 ? { publisher: { name: 'Harper & Row', city: 'New York' } } : {}),
            ...(i === 0 ? { cover: { _type: 'KinveyFile', _id: fileId } } : {}),
          }),
        ),
      );
    }
    fx.page.setDefaultTimeout(TIMEOUT);
    await signIn(fx);
  }, 120_000);
  afterAll(async () => fx?.close());

  it('lists books with its entity count and permission level', async () => {
    const { page } = fx;
    await page.getByRole('link', { name: 'Collections' }).click();
    const row = page.getByTestId('collection-row-books');
    await row.filter({ hasText: '120' }).waitFor({ timeout: TIMEOUT });
    await expect(row.getByTestId('collection-permissions').textContent()).resolves.toBe('shared');
  });

  it('opens books: 50 rows of 120, the file reference as a loaded thumbnail linking to the file', async () => {
    const { page } = fx;
    await page.getByTestId('collection-row-books').click();
    await waitForText(page.getByTestId('page-range'), '1–50 of 120');
    await expect(rows(fx).count()).resolves.toBe(50);
    const ref = page.getByTestId('entity-row-book-000').locator('a.file-ref');
    await waitForText(ref, 'cover.png');
    const thumb = ref.locator('img.thumb');
    await thumb.waitFor({ timeout: TIMEOUT });
    await page.waitForFunction(
      (img) => {
        const image = img as unknown as { complete: boolean; naturalWidth: number };
        return image.complete && image.naturalWidth > 0;
      },
      await thumb.elementHandle(),
      { timeout: TIMEOUT },
    );
    // The thumbnail is the 128 x 128 `thumb` variant of the 64 x 64 cover, not the original.
    expect(await thumb.getAttribute('src')).toContain('/blob-variants/');
    await expect(thumb.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).resolves.toBe(128);
    const stored = (await api(fx, 'GET', `/books/${idOf(0)}`)) as { cover: { _downloadURL: string } };
    const link = await ref.getAttribute('href');
    expect(new URL(link ?? '').pathname).toBe(new URL(stored.cover._downloadURL).pathname);
    await expect(ref.getAttribute('target')).resolves.toBe('_blank');
    await screenshot(page, 'collections');

    await page.getByTestId(`entity-row-${idOf(0)}`).click();
    const editor = page.getByTestId('entity-editor');
    await expect(editor.getByLabel('Entity JSON').inputValue()).resolves.toContain('"_filename": "cover.png"');
    await screenshot(page, 'entity-editor');
    await editor.getByRole('button', { name: 'Cancel' }).click();
    await editor.waitFor({ state: 'detached' });
  });

  it('sorts by a column on the server and pages through', async () => {
    const { page } = fx;
    const byYear = [...Array(BOOKS).keys()].sort((a, b) => yearOf(a) - yearOf(b));
    await page.getByTestId('sort-year').click();
    await firstRowIs(fx, idOf(byYear[0] as number));
    await page.getByTestId('sort-year').click();
    await firstRowIs(fx, idOf(byYear[BOOKS - 1] as number));
    await page.getByRole('button', { name: 'Next ›' }).click();
    await waitForText(page.getByTestId('page-range'), '51–100 of 120');
    await firstRowIs(fx, idOf(byYear[BOOKS - 51] as number));
  });

  it('filters with a query; invalid queries are reported inline and the table stays usable', async () => {
    const { page } = fx;
    const expected = [...Array(BOOKS).keys()].filter((i) => yearOf(i) > 2000).length;
    await runQuery(fx, '{"year":{"$gt":2000}}');
    await waitForText(page.getByTestId('page-range'), `1–${expected} of ${expected}`);
    await expect(rows(fx).count()).resolves.toBe(expected);

    await runQuery(fx, '{"$where":"1"}');
    await waitForText(page.getByTestId('error'), /InvalidQuerySyntax: .*Operator \$where is not allowed/);
    await runQuery(fx, '{"year": ');
    await waitForText(page.getByTestId('query-error'), /not valid JSON/);

    await runQuery(fx, '{"author":"Toni Morrison"}');
    await waitForText(page.getByTestId('page-range'), '1–20 of 20');
    await expect(page.getByTestId('error').count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Clear' }).click();
    await waitForText(page.getByTestId('page-range'), '1–50 of 120');
  });

  it('creates an entity in the JSON editor', async () => {
    const { page } = fx;
    await page.getByRole('button', { name: '+ New entity' }).click();
    const editor = page.getByTestId('entity-editor');
    await editor
      .getByLabel('Entity JSON')
      .fill(JSON.stringify({ _id: 'book-new', title: 'Written in the console', author: 'Ada', year: 2026 }, null, 2));
    await editor.getByRole('button', { name: 'Create' }).click();
    await editor.waitFor({ state: 'detached', timeout: TIMEOUT });
    await expect(api(fx, 'GET', '/books/book-new')).resolves.toMatchObject({
      title: 'Written in the console',
      year: 2026,
    });
    await waitForText(page.getByTestId('entity-total'), '121');
  });

  it('edits an entity in the JSON editor', async () => {
    const { page } = fx;
    await showOnly(fx, idOf(5));
    await page.getByTestId(`entity-row-${idOf(5)}`).click();
    const editor = page.getByTestId('entity-editor');
    const text = editor.getByLabel('Entity JSON');
    const entity = JSON.parse(await text.inputValue()) as Record<string, unknown>;
    expect(entity._id).toBe(idOf(5));
    await text.fill(JSON.stringify({ ...entity, title: 'Edited title', pages: 999 }, null, 2));
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached', timeout: TIMEOUT });
    await expect(api(fx, 'GET', `/books/${idOf(5)}`)).resolves.toMatchObject({
      title: 'Edited title',
      pages: 999,
      author: entity.author,
    });
    await waitForText(page.getByTestId(`entity-row-${idOf(5)}`), 'Edited title');
  });

  it('shows a server error in the editor as the API gives it', async () => {
    const { page } = fx;
    await showOnly(fx, idOf(8));
    await page.getByTestId(`entity-row-${idOf(8)}`).click();
    const editor = page.getByTestId('entity-editor');
    await editor.getByLabel('Entity JSON').fill('{"title": ');
    await editor.getByRole('button', { name: 'Save' }).click();
    await waitForText(editor.getByTestId('editor-problem'), /Not valid JSON/);
    await editor.getByLabel('Entity JSON').fill('{"_acl": {"gr": "yes"}}');
    await editor.getByRole('button', { name: 'Save' }).click();
    await waitForText(editor.getByTestId('error'), /BadRequest.*_acl\.gr must be a boolean/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await editor.waitFor({ state: 'detached', timeout: TIMEOUT });
  });

  it('deletes an entity after a confirm step', async () => {
    const { page } = fx;
    await showOnly(fx, idOf(6));
    await page.getByTestId(`entity-row-${idOf(6)}`).click();
    const editor = page.getByTestId('entity-editor');
    await editor.getByRole('button', { name: 'Delete…' }).click();
    await editor.getByTestId('confirm-delete').click();
    await editor.waitFor({ state: 'detached', timeout: TIMEOUT });
    await expect(api(fx, 'GET', `/books/${idOf(6)}`)).rejects.toThrow(/404/);
    await waitForText(page.getByTestId('entity-empty'), 'No entity matches this query.');
  });

  it('changes an entity ACL: globally readable and one more reader', async () => {
    const { page } = fx;
    await showOnly(fx, idOf(7));
    await page.getByRole('button', { name: `Edit the ACL of ${idOf(7)}` }).click();
    const editor = page.getByTestId('acl-editor');
    await expect(editor.getByTestId('acl-creator').textContent()).resolves.toBe(fx.appKey);
    await editor.getByLabel('Globally readable (gr)').check();
    const readers = editor.getByLabel('Readers (r): user ids');
    await readers.fill('user-42');
    await readers.press('Enter');
    await editor.getByRole('button', { name: 'Remove user-42' }).waitFor();
    await editor.getByRole('button', { name: 'Save ACL' }).click();
    await editor.waitFor({ state: 'detached', timeout: TIMEOUT });
    const stored = (await api(fx, 'GET', `/books/${idOf(7)}`)) as { _acl: Record<string, unknown> };
    expect(stored._acl).toMatchObject({ creator: fx.appKey, gr: true, r: ['user-42'] });
  });

  it('a collection of 10,000 entities fetches and renders one page at a time', async () => {
    const { page } = fx;
    for (let start = 0; start < 10_000; start += 1000) {
      await Promise.all(
        Array.from({ length: 10 }, (_, b) =>
          api(
            fx,
            'POST',
            '/events',
            Array.from({ length: 100 }, (_, k) => {
              const n = start + b * 100 + k;
              return {
                kind: ['click', 'view', 'purchase'][n % 3],
                n,
                at: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString(),
              };
            }),
          ),
        ),
      );
    }
    const reads: URL[] = [];
    const listen = (request: import('playwright-core').Request) => {
      const url = new URL(request.url());
      if (url.pathname === `/appdata/${fx.appKey}/events`) reads.push(url);
    };
    page.on('request', listen);
    await page.goto(`${fx.origin}/console/#/${fx.appKey}/collections/events`);
    await waitForText(page.getByTestId('page-range'), '1–50 of 10000');
    await expect(rows(fx).count()).resolves.toBe(50);
    // The range follows the click at once; the page's read is sent after the next render, so wait
    // for its answer before counting reads (under load the range won the race).
    const secondPage = page.waitForResponse((response) => {
      const url = new URL(response.url());
      return url.pathname === `/appdata/${fx.appKey}/events` && url.searchParams.get('skip') === '50';
    });
    await page.getByRole('button', { name: 'Next ›' }).click();
    await secondPage;
    await waitForText(page.getByTestId('page-range'), '51–100 of 10000');
    await expect(rows(fx).count()).resolves.toBe(50);
    page.off('request', listen);
    expect(reads.map((url) => [url.searchParams.get('limit'), url.searchParams.get('skip')])).toEqual([
      ['50', '0'],
      ['50', '50'],
    ]);
    await waitForText(page.getByTestId('collection-row-events').getByTestId('collection-count'), '10,000');
  }, 120_000);

  it('creates a collection by saving its first entity', async () => {
    const { page } = fx;
    await page.getByRole('button', { name: '+ New collection' }).click();
    await page.getByLabel('New collection name').fill('authors');
    await page.getByRole('button', { name: 'Open' }).click();
    await waitForText(page.getByTestId('entity-empty'), 'No entities yet');
    await waitForText(page.getByTestId('collection-row-authors'), 'new');
    await page.getByRole('button', { name: 'Create the first one' }).click();
    const editor = page.getByTestId('entity-editor');
    await editor.getByLabel('Entity JSON').fill('{"name": "Italo Calvino", "born": 1923}');
    await editor.getByRole('button', { name: 'Create' }).click();
    await editor.waitFor({ state: 'detached' });
    await waitForText(page.getByTestId('collection-row-authors').getByTestId('collection-count'), '1');
    await expect(api(fx, 'GET', '/authors')).resolves.toMatchObject([{ name: 'Italo Calvino', born: 1923 }]);
    // Back to books: its own first page, without the filter typed for authors' neighbour.
    await page.getByTestId('collection-row-books').click();
    await waitForText(page.getByTestId('page-range'), '1–50 of 120');
    await expect(page.getByTestId('query-input').inputValue()).resolves.toBe('');
    expect(fx.pageErrors).toEqual([]);
  });

  it('deletes a collection after its name is typed: remove-collection empties it and the list drops it', async () => {
    const { page } = fx;
    await api(fx, 'POST', '/scratch', [{ note: 'draft one' }, { note: 'draft two' }, { note: 'draft three' }]);
    await page.goto(`${fx.origin}/console/#/${fx.appKey}/collections/scratch`);
    await waitForText(page.getByTestId('collection-row-scratch').getByTestId('collection-count'), '3');
    await waitForText(page.getByTestId('entity-total'), '3 entities');
    await page.getByRole('button', { name: 'Delete collection…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete collection scratch?' });
    await waitForText(dialog, 'all 3 entities');
    const confirm = dialog.getByRole('button', { name: 'Delete collection' });
    await expect(confirm.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel('Collection name to confirm').fill('scratc');
    await expect(confirm.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel('Collection name to confirm').fill('scratch');
    await screenshot(page, 'collections-delete');
    await confirm.click();
    await dialog.waitFor({ state: 'detached', timeout: TIMEOUT });
    await waitForText(page.locator('.toast'), 'Deleted 3 entities');
    await expect(api(fx, 'GET', '/scratch/_count')).resolves.toEqual({ count: 0 });
    // Back on the collection list, reloaded: scratch is gone, books is untouched.
    await page.getByTestId('collection-row-scratch').waitFor({ state: 'detached', timeout: TIMEOUT });
    await waitForText(page.getByTestId('collection-row-books').getByTestId('collection-count'), '120');
    await page.getByText('Pick a collection on the left, or create one.').waitFor();
    expect(new URL(page.url()).hash).toBe(`#/${fx.appKey}/collections`);
    expect(fx.pageErrors).toEqual([]);
  });
});

function rows(fx: ConsoleFixture): Locator {
  return fx.page.getByTestId('entity-table').locator('tbody tr');
}

async function firstRowIs(fx: ConsoleFixture, id: string): Promise<void> {
  await fx.page
    .getByTestId('entity-table')
    .locator('tbody tr')
    .first()
    .and(fx.page.getByTestId(`entity-row-${id}`))
    .waitFor({ timeout: TIMEOUT });
}

/** Filters the table down to one entity, as a user looking for it would. */
async function showOnly(fx: ConsoleFixture, id: string): Promise<void> {
  await runQuery(fx, JSON.stringify({ _id: id }));
  await waitForText(fx.page.getByTestId('page-range'), '1–1 of 1');
}

async function runQuery(fx: ConsoleFixture, text: string): Promise<void> {
  await fx.page.getByTestId('query-input').fill(text);
  await fx.page.getByRole('button', { name: 'Run' }).click();
}

async function waitForText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
}

/** One REST call with the master secret against the books collection; rejects on 4xx/5xx. */
async function api(fx: ConsoleFixture, method: string, path: string, body?: unknown): Promise<unknown> {
  const answer = await fetch(`${fx.server.baseUrl}/appdata/${fx.appKey}${path}`, {
    method,
    headers: { Authorization: masterAuth(fx), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** Uploads a real PNG through the Files API (metadata, then the bytes to the upload URL); returns its id. */
async function uploadCover(fx: ConsoleFixture): Promise<string> {
  const png = gradientPng(64, 64);
  const created = await fetch(`${fx.server.baseUrl}/blob/${fx.appKey}`, {
    method: 'POST',
    headers: { Authorization: masterAuth(fx), 'Content-Type': 'application/json' },
    body: JSON.stringify({ _filename: 'cover.png', mimeType: 'image/png', size: png.length }),
  });
  const ticket = (await created.json()) as {
    _id: string;
    _uploadURL: string;
    _requiredHeaders?: Record<string, string>;
  };
  if (!created.ok) throw new Error(`POST /blob: ${created.status} ${JSON.stringify(ticket)}`);
  const uploaded = await fetch(ticket._uploadURL, {
    method: 'PUT',
    headers: { ...ticket._requiredHeaders, 'Content-Length': String(png.length) },
    body: png,
  });
  if (!uploaded.ok) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
  return ticket._id;
}

/** A small RGB PNG: a diagonal gradient. */
function gradientPng(width: number, height: number): Buffer {
  return makePng(width, height, (x, y) => [59 + (x / width) * 120, 91 + (y / height) * 100, 219]);
}
