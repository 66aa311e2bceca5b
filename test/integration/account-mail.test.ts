/**
 * The account mails end to end over real SMTP (Mailpit), on both document stores: a password reset
 * by username and by address, e-mail verification (asked for, and automatic at signup with
 * verification required at login), and forgotten usernames. Each mail is read from Mailpit and its
 * link followed over HTTP; the browser suite (test/e2e/account-pages.test.ts) does it in Chromium.
 */
import { DOCUMENT_STORES, type TestApp } from '../support/test-app';
import { linkIn, startMailpit, type Mailpit } from '../support/mailpit';
import { call, freshAddress, login, mailingApp, postForm, signup, tokenOf } from '../support/account-mail';

jest.setTimeout(60_000);

let mailpit: Mailpit;
beforeAll(async () => {
  mailpit = await startMailpit();
});
afterAll(async () => {
  await mailpit?.stop();
});

describe.each(DOCUMENT_STORES)('account mails (%s store)', (documents) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await mailingApp(mailpit, { documents, appName: 'Bookshelf' });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a password reset mails a single-use link whose page sets the new password and ends every session', async () => {
    const email = freshAddress('reset');
    await signup(t, 'reader1', 'old-password-1', email);
    const before = await login(t, 'reader1', 'old-password-1');
    expect(before.status).toBe(200);

    const started = await call(t, 'POST', '/rpc/{app}/reader1/user-password-reset-initiate');
    expect(started.status).toBe(204);
    const [mail] = await mailpit.waitForMails(email);
    expect(mail!.subject).toBe('Reset your Bookshelf password');
    expect(mail!.from).toBe('no-reply@kinbase.test');
    expect(mail!.text).toContain('within 1 hour');
    const link = linkIn(mail!, `${t.baseUrl}/account/${t.appKey}/password-reset?token=`);
    expect(tokenOf(link)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail!.html).toContain(`href="${link}"`);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Bookshelf');
    expect(html).toContain('name="password"');

    // Two passwords that differ are refused without using the link up.
    const typo = await postForm(link, { token: tokenOf(link), password: 'new-password-2', confirm: 'new-password-3' });
    expect(typo.status).toBe(400);
    expect(await typo.text()).toContain('The two passwords differ');

    const done = await postForm(link, { token: tokenOf(link), password: 'new-password-2', confirm: 'new-password-2' });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Your password is set');

    expect((await login(t, 'reader1', 'old-password-1')).status).toBe(401);
    expect((await login(t, 'reader1', 'new-password-2')).status).toBe(200);
    // The session taken with the old password is over.
    const me = await call(t, 'GET', '/user/{app}/_me', { auth: `Kinvey ${before.token}` });
    expect(me.status).toBe(401);
    // The link worked once.
    const again = await postForm(link, { token: tokenOf(link), password: 'third-password', confirm: 'third-password' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('This link does not work');
    expect((await fetch(link)).status).toBe(400);
    expect((await login(t, 'reader1', 'new-password-2')).status).toBe(200);
  });

  test('a reset asked for by e-mail address works, and the new password voids the other reset links', async () => {
    const email = freshAddress('byaddress');
    await signup(t, 'reader2', 'old-password-1', email);
    expect((await call(t, 'POST', `/rpc/{app}/${encodeURIComponent(email)}/user-password-reset-initiate`)).status).toBe(
      204,
    );
    expect((await call(t, 'POST', '/rpc/{app}/reader2/user-password-reset-initiate')).status).toBe(204);
    const [first, second] = await mailpit.waitForMails(email, 2);
    const firstLink = linkIn(first!, `${t.baseUrl}/account/`);
    const secondLink = linkIn(second!, `${t.baseUrl}/account/`);
    expect(firstLink).not.toBe(secondLink);

    const done = await postForm(secondLink, {
      token: tokenOf(secondLink),
      password: 'pw-second',
      confirm: 'pw-second',
    });
    expect(done.status).toBe(200);
    const stale = await postForm(firstLink, { token: tokenOf(firstLink), password: 'pw-first', confirm: 'pw-first' });
    expect(stale.status).toBe(400);
    expect((await login(t, 'reader2', 'pw-second')).status).toBe(200);
    expect((await login(t, 'reader2', 'pw-first')).status).toBe(401);
  });

  test('an e-mail verification link confirms the address as Kinvey shows it in _kmd.emailVerification', async () => {
    const email = freshAddress('verify');
    await signup(t, 'reader3', 'password-3', email);
    expect((await call(t, 'POST', '/rpc/{app}/reader3/user-email-verification-initiate')).status).toBe(204);
    const [mail] = await mailpit.waitForMails(email);
    expect(mail!.subject).toBe('Confirm your e-mail address for Bookshelf');
    const link = linkIn(mail!, `${t.baseUrl}/account/${t.appKey}/verify-email?token=`);

    const { token } = await login(t, 'reader3', 'password-3');
    const meBefore = (await (await call(t, 'GET', '/user/{app}/_me', { auth: `Kinvey ${token}` })).json()) as {
      _kmd: { emailVerification: Record<string, unknown> };
    };
    expect(meBefore._kmd.emailVerification).toMatchObject({ status: 'sent', emailAddress: email });

    // Opening the link (as a mail scanner would) confirms nothing; the page's button does.
    expect((await fetch(link)).status).toBe(200);
    expect((await fetch(link)).status).toBe(200);
    const confirmed = await postForm(link, { token: tokenOf(link) });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Your e-mail address is confirmed');

    const me = (await (await call(t, 'GET', '/user/{app}/_me', { auth: `Kinvey ${token}` })).json()) as {
      _kmd: { emailVerification: Record<string, unknown> };
    };
    expect(me._kmd.emailVerification).toEqual({
      status: 'confirmed',
      lastStateChangeAt: expect.stringMatching(/Z$/),
      lastConfirmedAt: expect.stringMatching(/Z$/),
      emailAddress: email,
    });
    expect((await postForm(link, { token: tokenOf(link) })).status).toBe(400);
  });

  test('forgotten usernames: one mail names every account with the address, and no other', async () => {
    const email = freshAddress('forgot');
    await signup(t, 'forgetful-a', 'password-a', email);
    await signup(t, 'forgetful-b', 'password-b', email);
    await signup(t, 'someone-else', 'password-c', freshAddress('other'));
    expect((await call(t, 'POST', '/rpc/{app}/user-forgot-username', { body: { email } })).status).toBe(204);
    const [mail] = await mailpit.waitForMails(email);
    expect(mail!.subject).toBe('Your Bookshelf username');
    expect(mail!.text).toContain('forgetful-a\nforgetful-b');
    expect(mail!.text).not.toContain('someone-else');
    expect(mail!.html).toContain('forgetful-a<br>forgetful-b');
  });
});

describe('settings.emailVerification from the environment file', () => {
  test('auto mails the link at signup, and required refuses the login until the address is confirmed', async () => {
    const t = await mailingApp(mailpit, {
      appName: 'Strict App',
      accounts: { emailVerification: { required: true, auto: true }, passwordResetPage: null },
    });
    try {
      const email = freshAddress('strict');
      await signup(t, 'strict-user', 'password-s', email);
      const [mail] = await mailpit.waitForMails(email);
      const refused = await login(t, 'strict-user', 'password-s');
      expect(refused).toMatchObject({ status: 401, error: 'InsufficientCredentials' });
      // A wrong password still says only that the credentials are wrong.
      expect(await login(t, 'strict-user', 'wrong')).toMatchObject({ status: 401, error: 'InvalidCredentials' });

      const link = linkIn(mail!, `${t.baseUrl}/account/${t.appKey}/verify-email?token=`);
      expect((await postForm(link, { token: tokenOf(link) })).status).toBe(200);
      const confirmed = await login(t, 'strict-user', 'password-s');
      expect(confirmed.status).toBe(200);

      // A new address is not confirmed: the login is refused again until its own link is followed.
      const id = (
        (await (await call(t, 'GET', '/user/{app}/_me', { auth: `Kinvey ${confirmed.token}` })).json()) as {
          _id: string;
        }
      )._id;
      const changed = await call(t, 'PUT', `/user/{app}/${id}`, {
        auth: `Kinvey ${confirmed.token}`,
        body: { username: 'strict-user', email: freshAddress('changed') },
      });
      expect(changed.status).toBe(200);
      expect(((await changed.json()) as { _kmd: Record<string, unknown> })._kmd.emailVerification).toBeUndefined();
      expect(await login(t, 'strict-user', 'password-s')).toMatchObject({
        status: 401,
        error: 'InsufficientCredentials',
      });
    } finally {
      await t.close();
    }
  });

  test("settings.passwordReset sends the reset link to the app's own page, which posts to kinbase", async () => {
    const t = await mailingApp(mailpit, {
      accounts: {
        emailVerification: { required: false, auto: false },
        passwordResetPage: 'https://app.example/reset?lang=en',
      },
    });
    try {
      const email = freshAddress('ownpage');
      await signup(t, 'own-page-user', 'password-o', email);
      await call(t, 'POST', '/rpc/{app}/own-page-user/user-password-reset-initiate');
      const [mail] = await mailpit.waitForMails(email);
      const link = new URL(linkIn(mail!, 'https://app.example/reset?'));
      expect(link.searchParams.get('lang')).toBe('en');
      expect(link.searchParams.get('appKey')).toBe(t.appKey);
      const token = link.searchParams.get('token') ?? '';
      const done = await postForm(`${t.baseUrl}/account/${t.appKey}/password-reset`, {
        token,
        password: 'from-own-page',
        confirm: 'from-own-page',
      });
      expect(done.status).toBe(200);
      expect((await login(t, 'own-page-user', 'from-own-page')).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  test('the apps file templates replace the built-in mails', async () => {
    const t = await mailingApp(mailpit, {
      appName: 'Templated',
      mailTemplates: {
        passwordReset: {
          subject: '{{appName}}: new password for {{username}}',
          text: 'Go to {{link}} ({{expiresIn}})',
        },
      },
    });
    try {
      const email = freshAddress('templated');
      await signup(t, 'templated-user', 'password-t', email);
      await call(t, 'POST', '/rpc/{app}/templated-user/user-password-reset-initiate');
      const [mail] = await mailpit.waitForMails(email);
      expect(mail!.subject).toBe('Templated: new password for templated-user');
      expect(mail!.text.trim()).toMatch(
        /^Go to http:\/\/127\.0\.0\.1:\d+\/account\/.+\?token=[A-Za-z0-9_-]{43} \(1 hour\)$/,
      );
      expect(mail!.html).toBe('');
    } finally {
      await t.close();
    }
  });
});
