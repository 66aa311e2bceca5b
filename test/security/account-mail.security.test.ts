/**
 * Attacks on the account mails and their pages: reused, expired, guessed and foreign links;
 * account enumeration through the starts; floods of mails to one account or from one client;
 * markup in names reaching a mail or a page; a stolen store; a dead SMTP server.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createHash } from 'node:crypto';
import { TestClock } from '../support/test-clock';
import { startTestApp, type TestApp } from '../support/test-app';
import { linkIn, startMailpit, type Mailpit } from '../support/mailpit';
import { call, freshAddress, login, mailingApp, postForm, signup, tokenOf } from '../support/account-mail';
import { consolePolicy } from '../../src/http/routes/console/console.routes';
import { ACCOUNT_PAGE_POLICY } from '../../src/http/routes/account/account.routes';
import { accountLinkScope } from '../../src/domain/users/account-links';
import { INITIATION_LIMITS } from '../../src/domain/users/initiation-limits';
import { redactUrl } from '../../src/http/middleware/access-log';

jest.setTimeout(60_000);

let mailpit: Mailpit;
let t: TestApp;
const clock = new TestClock();
beforeAll(async () => {
  mailpit = await startMailpit();
  t = await mailingApp(mailpit, { clock: clock.now, appName: 'Guarded' });
});
afterAll(async () => {
  await t?.close();
  await mailpit?.stop();
});
// Every test starts in a fresh window of the initiation limits (all its requests come from 127.0.0.1).
beforeEach(() => clock.advance(INITIATION_LIMITS.windowSeconds * 1000));

async function resetLinkFor(username: string, email: string, count = 1): Promise<string> {
  expect((await call(t, 'POST', `/rpc/{app}/${username}/user-password-reset-initiate`)).status).toBe(204);
  const mails = await mailpit.waitForMails(email, count);
  return linkIn(mails[count - 1]!, `${t.baseUrl}/account/`);
}

/** What a page answers, without what differs per request anyway. */
async function pageAnswer(res: Response): Promise<{ status: number; body: string; type: string | null }> {
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

test('a used reset link, an expired one, a guessed one and a verification link all get the same refusal', async () => {
  const email = freshAddress('reuse');
  await signup(t, 'reuse-user', 'password-r', email);
  const used = await resetLinkFor('reuse-user', email);
  expect((await postForm(used, { token: tokenOf(used), password: 'pw-2', confirm: 'pw-2' })).status).toBe(200);

  const expiring = await resetLinkFor('reuse-user', email, 2);
  clock.advance(3600 * 1000 + 1);
  const guessed = used.replace(/token=.*/, `token=${'A'.repeat(43)}`);
  expect((await call(t, 'POST', '/rpc/{app}/reuse-user/user-email-verification-initiate')).status).toBe(204);
  const [verification] = (await mailpit.waitForMails(email, 3)).filter((m) => m.subject.startsWith('Confirm'));
  const verifyToken = tokenOf(linkIn(verification!, `${t.baseUrl}/account/`));

  const answers = [
    await pageAnswer(await fetch(used)),
    await pageAnswer(await fetch(expiring)),
    await pageAnswer(await fetch(guessed)),
    await pageAnswer(await fetch(used.replace(/token=.*/, `token=${verifyToken}`))),
    await pageAnswer(await postForm(used, { token: tokenOf(used), password: 'pw-3', confirm: 'pw-3' })),
    await pageAnswer(await postForm(expiring, { token: tokenOf(expiring), password: 'pw-3', confirm: 'pw-3' })),
    await pageAnswer(await postForm(guessed, { token: tokenOf(guessed), password: 'pw-3', confirm: 'pw-3' })),
    await pageAnswer(await postForm(used, { token: verifyToken, password: 'pw-3', confirm: 'pw-3' })),
  ];
  for (const answer of answers) expect(answer).toEqual(answers[0]);
  expect(answers[0]!.status).toBe(400);
  expect(answers[0]!.body).toContain('This link does not work');
  expect((await login(t, 'reuse-user', 'pw-2')).status).toBe(200);
  expect((await login(t, 'reuse-user', 'pw-3')).status).toBe(401);
});

test('a reset or verification start for an unknown account answers exactly as for a known one, and mails nothing', async () => {
  const email = freshAddress('known');
  await signup(t, 'known-user', 'password-k', email);
  const shape = async (res: Response) => ({
    status: res.status,
    body: await res.text(),
    length: res.headers.get('content-length'),
  });
  for (const route of ['user-password-reset-initiate', 'user-email-verification-initiate']) {
    const known = await shape(await call(t, 'POST', `/rpc/{app}/known-user/${route}`));
    const unknown = await shape(await call(t, 'POST', `/rpc/{app}/nobody-${Date.now()}/${route}`));
    const byUnknownAddress = await shape(await call(t, 'POST', `/rpc/{app}/${freshAddress('nobody')}/${route}`));
    expect(unknown).toEqual(known);
    expect(byUnknownAddress).toEqual(known);
  }
  const forgotKnown = await shape(await call(t, 'POST', '/rpc/{app}/user-forgot-username', { body: { email } }));
  const ghost = freshAddress('ghost');
  const forgotUnknown = await shape(
    await call(t, 'POST', '/rpc/{app}/user-forgot-username', { body: { email: ghost } }),
  );
  expect(forgotUnknown).toEqual(forgotKnown);
  await mailpit.waitForMails(email, 3);
  expect(await mailpit.mailsTo(ghost)).toEqual([]);
});

test('a flood of reset requests for one account sends at most the per-account limit of mails', async () => {
  const email = freshAddress('flood');
  await signup(t, 'flood-user', 'password-f', email);
  for (let i = 0; i < INITIATION_LIMITS.perAccount + 5; i++) {
    // One client, below its own limit (20), so the account's limit (3) is what holds.
    const res = await fetch(`${t.baseUrl}/rpc/${t.appKey}/flood-user/user-password-reset-initiate`, {
      method: 'POST',
      headers: { Authorization: t.appAuth },
    });
    expect(res.status).toBe(204);
  }
  await mailpit.waitForMails(email, INITIATION_LIMITS.perAccount);
  // Whatever else was queued had time to arrive: a verification mail sent after it arrives after it.
  await call(t, 'POST', '/rpc/{app}/flood-user/user-email-verification-initiate');
  const mails = await mailpit.waitForMails(email, INITIATION_LIMITS.perAccount + 1);
  expect(mails.filter((m) => m.subject.startsWith('Reset'))).toHaveLength(INITIATION_LIMITS.perAccount);
  // The window ends: the account can ask again.
  clock.advance(INITIATION_LIMITS.windowSeconds * 1000);
  await resetLinkFor('flood-user', email, INITIATION_LIMITS.perAccount + 2);
});

test('one client starting flows for many accounts is held back after the per-client limit', async () => {
  const emails: string[] = [];
  for (let i = 0; i < INITIATION_LIMITS.perClient + 3; i++) {
    const email = freshAddress(`spray${i}`);
    emails.push(email);
    await signup(t, `spray-${i}-${Date.now()}`, 'password-s', email);
  }
  for (const email of emails) {
    const res = await call(t, 'POST', `/rpc/{app}/${encodeURIComponent(email)}/user-password-reset-initiate`);
    expect(res.status).toBe(204);
  }
  await mailpit.waitForMails(emails[INITIATION_LIMITS.perClient - 1]!);
  await call(t, 'POST', '/rpc/{app}/user-forgot-username', { body: { email: emails[0] } });
  const after = await Promise.all(emails.slice(INITIATION_LIMITS.perClient).map((e) => mailpit.mailsTo(e)));
  expect(after.flat()).toEqual([]);
});

test("the account pages carry a Content-Security-Policy as strict as the console's: no script, no framing, forms to this origin only", async () => {
  const email = freshAddress('csp');
  await signup(t, 'csp-user', 'password-c', email);
  const link = await resetLinkFor('csp-user', email);
  for (const res of [await fetch(link), await fetch(`${t.baseUrl}/account/${t.appKey}/verify-email?token=x`)]) {
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toBe(ACCOUNT_PAGE_POLICY);
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).not.toContain('<script');
  }
  // Every directive the console's policy restricts to none is none here too (or not granted at all).
  const console = consolePolicy([t.baseUrl]);
  for (const directive of ["default-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    expect(console).toContain(directive);
    expect(ACCOUNT_PAGE_POLICY).toContain(directive);
  }
});

test('markup in an app name and a username is escaped in the mail and on the page', async () => {
  const evil = await mailingApp(mailpit, { appName: '<img src=x onerror=alert(1)>"Shop' });
  try {
    const email = freshAddress('markup');
    const username = '<b onmouseover="x()">bob</b>';
    await signup(evil, username, 'password-m', email);
    await call(evil, 'POST', `/rpc/{app}/${encodeURIComponent(username)}/user-password-reset-initiate`);
    const [mail] = await mailpit.waitForMails(email);
    expect(mail!.html).not.toContain('<img');
    expect(mail!.html).not.toContain('<b ');
    expect(mail!.html).toContain('&#60;b onmouseover=&#34;x()&#34;&#62;bob&#60;/b&#62;');
    expect(mail!.html).toContain('&#60;img src=x onerror=alert(1)&#62;&#34;Shop');
    // The plain-text part keeps the names as they are: text is not markup.
    expect(mail!.text).toContain(`Hello ${username},`);
    const page = await (await fetch(linkIn(mail!, `${evil.baseUrl}/account/`))).text();
    expect(page).not.toContain('<img');
    expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;&#34;Shop');
  } finally {
    await evil.close();
  }
});

test("a stolen store holds no usable link: only the token's SHA-256 is kept, and the access log never shows a token", async () => {
  const email = freshAddress('stolen');
  await signup(t, 'stolen-user', 'password-st', email);
  const link = await resetLinkFor('stolen-user', email);
  const token = tokenOf(link);
  const stored = await t.documents.find(accountLinkScope(t.appKey), {});
  const ids = stored.map((doc) => doc._id);
  expect(ids).toContain(createHash('sha256').update(token).digest('hex'));
  expect(JSON.stringify(stored)).not.toContain(token);
  // Posting the stored hash as a token is no link.
  const hash = createHash('sha256').update(token).digest('hex');
  expect((await postForm(link, { token: hash, password: 'pw-x', confirm: 'pw-x' })).status).toBe(400);
  expect(redactUrl(`/account/${t.appKey}/password-reset?token=${token}`)).toBe(
    `/account/${t.appKey}/password-reset?token=[redacted]`,
  );
});

test('a dead SMTP server costs the request nothing: the start answers 204 and the failure is logged', async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const dead = await startTestApp({
    logger,
    env: { KINBASE_SMTP_URL: 'smtp://127.0.0.1:9', KINBASE_MAIL_FROM: 'no-reply@kinbase.test' },
  });
  try {
    await signup(dead, 'dead-smtp-user', 'password-d', freshAddress('dead'));
    const res = await call(dead, 'POST', '/rpc/{app}/dead-smtp-user/user-password-reset-initiate');
    expect(res.status).toBe(204);
    await dead.runtime.mailOutbox!.idle();
    expect(lines.join('')).toContain('sending an account mail failed');
    expect(lines.join('')).not.toContain('example.test');
  } finally {
    await dead.close();
  }
});
