/**
 * The console's Users and Groups sections in a real browser: a seeded user list paged and
 * searched, a user created, disabled, restored and given a new password through the UI, each
 * change proven by logging in through the REST API; a group created with two members.
 */
import type { Locator } from 'playwright-core';

jest.setTimeout(90_000);
import { masterAuth, screenshot, signIn, startConsole, type ConsoleFixture } from '../support/browser';

const PEOPLE = [
  'ada',
  'alan',
  'barbara',
  'claude',
  'donald',
  'edsger',
  'frances',
  'grace',
  'hedy',
  'ivan',
  'john',
  'ken',
  'leslie',
  'linus',
  'margaret',
  'niklaus',
  'ole',
  'peter',
  'radia',
  'richard',
  'robin',
  'sophie',
  'tim',
  'tony',
  'ursula',
  'vint',
  'whitfield',
  'xavier',
  'yukihiro',
  'zhang',
];

describe('console: users and groups (Chromium)', () => {
  let fx: ConsoleFixture;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    fx = await startConsole();
    for (const name of PEOPLE) {
      const user = await api(
        fx,
        'POST',
        '/user/{app}',
        { username: name, password: `pw-${name}-1`, email: `${name}@example.org` },
        appAuth(fx),
      );
      ids.set(name, user._id as string);
    }
    await signIn(fx);
  }, 120_000);
  afterAll(async () => fx?.close());

  it('lists the users with their total, pages and narrows the list by a search', async () => {
    const { page } = fx;
    await page.getByRole('link', { name: 'Users' }).click();
    await expectTotal(page, `${PEOPLE.length} users`);
    await expectText(page.getByTestId('page-range'), `1–25 of ${PEOPLE.length}`);
    expect(await page.getByTestId('user-row').count()).toBe(25);
    await page.getByRole('button', { name: 'Next ›' }).click();
    await expectText(page.getByTestId('page-range'), `26–${PEOPLE.length} of ${PEOPLE.length}`);

    await page.getByLabel('Search users').fill('r');
    await expectTotal(page, '3 users');
    expect((await rowNames(page.getByTestId('user-row'))).sort()).toEqual(['radia', 'richard', 'robin']);
    // Email prefixes match too, case-insensitively.
    await page.getByLabel('Search users').fill('GRACE@');
    await expectTotal(page, '1 user');
    await expectText(page.getByTestId('users-table'), 'grace@example.org');
    await page.getByLabel('Search users').fill('');
    await expectTotal(page, `${PEOPLE.length} users`);
  });

  it('creates a user whose password then logs in through the API', async () => {
    const { page } = fx;
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('Username').fill('margo');
    await dialog.getByLabel('Password', { exact: true }).fill('margo-first-pass');
    await dialog.getByLabel('Email').fill('margo@example.org');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expectTotal(page, `${PEOPLE.length + 1} users`);
    await expectText(page.getByTestId('users-table'), 'margo@example.org');
    expect((await login(fx, 'margo', 'margo-first-pass')).status).toBe(200);
  });

  it('disables a user (login refused, badge shown) and restores it (login works again)', async () => {
    const { page } = fx;
    await page.getByLabel('Search users').fill('grace');
    await expectTotal(page, '1 user');
    await page.getByRole('button', { name: 'Disable grace' }).click();
    const row = page.getByTestId('user-row').filter({ hasText: 'grace@example.org' });
    await expectText(row, 'disabled');
    const refused = await login(fx, 'grace', 'pw-grace-1');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('InvalidCredentials');

    // The screenshot: the whole list with one disabled user among them.
    await page.getByLabel('Search users').fill('');
    await expectTotal(page, `${PEOPLE.length + 1} users`);
    await page.getByLabel('Status').selectOption('disabled');
    await expectTotal(page, '1 user');
    await page.getByLabel('Status').selectOption('all');
    await page
      .getByRole('columnheader', { name: /Username/ })
      .getByRole('button')
      .click();
    await expectText(page.getByTestId('page-range'), `1–25 of ${PEOPLE.length + 1}`);
    await page
      .getByTestId('user-row')
      .filter({ hasText: 'grace@example.org' })
      .filter({ hasText: 'disabled' })
      .waitFor();
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 15_000 });
    await screenshot(page, 'users');

    await page.getByRole('button', { name: 'Restore grace' }).click();
    await page.getByRole('button', { name: 'Disable grace' }).waitFor();
    expect((await login(fx, 'grace', 'pw-grace-1')).status).toBe(200);
  });

  it('sets a new password: the new one logs in, the old one does not, old sessions end', async () => {
    const { page } = fx;
    const before = await login(fx, 'hedy', 'pw-hedy-1');
    expect(before.status).toBe(200);
    const oldToken = (before.body._kmd as { authtoken: string }).authtoken;
    await page.getByLabel('Search users').fill('hedy');
    await expectTotal(page, '1 user');
    await page.getByRole('button', { name: 'Set a new password for hedy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Set a new password for hedy' });
    await dialog.getByLabel('New password').fill('hedy-new-secret');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect(waitForStatus(() => login(fx, 'hedy', 'hedy-new-secret'), 200)).resolves.toBe(200);
    expect((await login(fx, 'hedy', 'pw-hedy-1')).status).toBe(401);
    const me = await fetch(`${fx.server.baseUrl}/user/${fx.appKey}/_me`, {
      headers: { Authorization: `Kinvey ${oldToken}` },
    });
    expect(me.status).toBe(401);
    // The detail dialog shows the record, with no password or hash in it.
    await page.getByRole('button', { name: 'Open hedy' }).click();
    const detail = page.getByTestId('user-detail');
    await expectText(detail, ids.get('hedy')!);
    await screenshot(page, 'user-detail');
    expect(await detail.getByLabel('User JSON').textContent()).not.toMatch(
      /hedy-new-secret|pw-hedy-1|"password"|hash|authtoken/i,
    );
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
  });

  it('creates a group with two members, verified through GET /group', async () => {
    const { page } = fx;
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Group _id').fill('editors');
    await dialog.getByLabel('Add member by username or _id').fill('ada');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await expectText(dialog.getByTestId('group-members'), 'ada');
    // A member may be named by _id too; the editor shows the username it found.
    await dialog.getByLabel('Add member by username or _id').fill(ids.get('alan')!);
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await expectText(dialog.getByTestId('group-members'), 'alan');
    await dialog.getByLabel('Add member by username or _id').fill('nobody-here');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await expectText(dialog.getByRole('alert'), 'UserNotFound');
    await screenshot(page, 'group-editor');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('groups-table'), '2 users');

    const group = await api(fx, 'GET', '/group/{app}/editors');
    expect(group.users).toEqual({
      all: false,
      list: [
        { _type: 'KinveyRef', _collection: 'user', _id: ids.get('ada') },
        { _type: 'KinveyRef', _collection: 'user', _id: ids.get('alan') },
      ],
    });
    await api(fx, 'POST', '/group/{app}', {
      _id: 'everyone',
      users: { all: true },
      groups: [{ _type: 'KinveyRef', _collection: 'group', _id: 'editors' }],
    });
    // A few more, for a realistic screenshot.
    const refs = (...names: string[]) =>
      names.map((n) => ({ _type: 'KinveyRef', _collection: 'user', _id: ids.get(n) }));
    await api(fx, 'POST', '/group/{app}', {
      _id: 'beta-testers',
      users: { list: refs('ken', 'linus', 'peter', 'radia', 'tim') },
    });
    await api(fx, 'POST', '/group/{app}', {
      _id: 'support',
      users: { list: refs('barbara', 'frances', 'margaret') },
      groups: [{ _type: 'KinveyRef', _collection: 'group', _id: 'editors' }],
    });
    await page.getByRole('button', { name: 'Refresh groups' }).click();
    await expectText(page.getByTestId('groups-table'), 'all users');
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 15_000 });
    await screenshot(page, 'groups');

    // Edit: remove one member; the user's detail lists the group.
    await page.getByRole('button', { name: 'Edit group editors' }).click();
    const editor = page.getByRole('dialog', { name: 'Group editors' });
    await editor.getByRole('button', { name: 'Remove alan' }).click();
    await editor.getByRole('button', { name: 'Save group' }).click();
    await editor.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('groups-table'), '1 user');
    expect((await api(fx, 'GET', '/group/{app}/editors')).users).toEqual({
      all: false,
      list: [{ _type: 'KinveyRef', _collection: 'user', _id: ids.get('ada') }],
    });

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Search users').fill('ada');
    await expectTotal(page, '1 user');
    await page.getByRole('button', { name: 'Open ada' }).click();
    await expectText(page.getByTestId('user-groups'), 'editors');
    await expectText(page.getByTestId('user-groups'), 'everyone (all users)');
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    expect(fx.pageErrors).toEqual([]);
  });

  it('deletes a user for good after a confirmation, which frees the username', async () => {
    const { page } = fx;
    await page.getByLabel('Search users').fill('zhang');
    await expectTotal(page, '1 user');
    await page.getByRole('button', { name: 'Delete zhang' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete zhang?' });
    await dialog.getByRole('button', { name: 'Delete for good' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expectTotal(page, '0 users');
    const exists = await api(fx, 'POST', '/rpc/{app}/check-username-exists', { username: 'zhang' }, appAuth(fx));
    expect(exists).toEqual({ usernameExists: false });
    expect(fx.pageErrors).toEqual([]);
  });

  it("edits a user's fields as JSON (email changed, a custom field added); the password still logs in", async () => {
    const { page } = fx;
    const id = ids.get('leslie')!;
    await page.getByLabel('Search users').fill('leslie');
    await expectTotal(page, '1 user');
    await page.getByRole('button', { name: 'Open leslie' }).click();
    const detail = page.getByTestId('user-detail');
    await detail.getByRole('button', { name: 'Edit' }).click();
    const json = detail.getByLabel('User JSON to save');
    const record = JSON.parse(await json.inputValue()) as Record<string, unknown>;
    expect(record).toMatchObject({ _id: id, username: 'leslie', email: 'leslie@example.org' });
    expect(record).not.toHaveProperty('_kmd');
    expect(record).not.toHaveProperty('password');
    const edited = JSON.stringify(
      { ...record, email: 'leslie.lamport@example.org', team: 'distributed systems' },
      null,
      2,
    );
    await json.fill(edited);
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 15_000 });
    await screenshot(page, 'user-edit');

    // Problems are reported inline: not JSON, a password in the record, the server's own 400.
    await json.fill('{"email": ');
    await detail.getByRole('button', { name: 'Save user' }).click();
    await expectText(detail.getByTestId('user-edit-problem'), /Not valid JSON/);
    await json.fill(JSON.stringify({ ...record, password: 'sneaky' }));
    await detail.getByRole('button', { name: 'Save user' }).click();
    await expectText(detail.getByTestId('user-edit-problem'), /Set a new password/);
    await json.fill(JSON.stringify({ ...record, _acl: { gr: 'yes' } }));
    await detail.getByRole('button', { name: 'Save user' }).click();
    await expectText(detail.getByRole('alert'), /BadRequest/);

    await json.fill(edited);
    await detail.getByRole('button', { name: 'Save user' }).click();
    await detail.getByTestId('user-edit').waitFor({ state: 'detached', timeout: 15_000 });
    await expectText(detail.getByLabel('User JSON'), '"team": "distributed systems"');

    const stored = await api(fx, 'GET', `/user/{app}/${id}`);
    expect(stored).toMatchObject({
      _id: id,
      username: 'leslie',
      email: 'leslie.lamport@example.org',
      team: 'distributed systems',
      _acl: { creator: expect.any(String) },
    });
    expect(stored).not.toHaveProperty('password');
    expect((await login(fx, 'leslie', 'pw-leslie-1')).status).toBe(200);
    // The list behind the dialog reloaded with the new email.
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await expectText(page.getByTestId('users-table'), 'leslie.lamport@example.org');
    expect(fx.pageErrors).toEqual([]);
  });
});

function appAuth(fx: ConsoleFixture): string {
  return `Basic ${Buffer.from(`${fx.appKey}:${fx.appSecret}`).toString('base64')}`;
}

async function api(
  fx: ConsoleFixture,
  method: string,
  path: string,
  body?: unknown,
  auth = masterAuth(fx),
): Promise<Record<string, unknown>> {
  const answer = await fetch(`${fx.server.baseUrl}${path.replace('{app}', fx.appKey)}`, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json', 'X-Kinvey-API-Version': '5' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await answer.json()) as Record<string, unknown>;
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

async function login(
  fx: ConsoleFixture,
  username: string,
  password: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fetch(`${fx.server.baseUrl}/user/${fx.appKey}/login`, {
    method: 'POST',
    headers: { Authorization: appAuth(fx), 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

async function waitForStatus(attempt: () => Promise<{ status: number }>, status: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < 20; i += 1) {
    last = (await attempt()).status;
    if (last === status) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return last;
}

async function rowNames(rows: Locator): Promise<string[]> {
  await rows.first().waitFor();
  return rows.locator('td:first-child').allTextContents();
}

/** The total badge, exactly ("1 user" must not match "31 users"). */
async function expectTotal(page: import('playwright-core').Page, text: string): Promise<void> {
  await page
    .getByTestId('user-total')
    .filter({ hasText: new RegExp(`^${text}$`) })
    .waitFor({ timeout: 15_000 });
}

async function expectText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 15_000 });
}
