/**
 * Helpers of the account-mail suites: a test app that mails through a Mailpit, fresh addresses,
 * and the few REST calls the flows need (sign up, log in, start a flow, post a page's form).
 */
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app';
import type { Mailpit } from './mailpit';

export function mailingApp(mailpit: Mailpit, options: TestAppOptions = {}): Promise<TestApp> {
  return startTestApp({
    ...options,
    env: { KINBASE_SMTP_URL: mailpit.smtpUrl, KINBASE_MAIL_FROM: 'Test App <no-reply@kinbase.test>', ...options.env },
  });
}

/** A fresh, unique address, so no two tests read the same mails. */
export function freshAddress(name = 'user'): string {
  return `${name}-${randomBytes(5).toString('hex')}@example.test`;
}

export async function call(
  t: TestApp,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown } = {},
): Promise<Response> {
  return fetch(`${t.baseUrl}${path.replace('{app}', t.appKey)}`, {
    method,
    headers: {
      Authorization: options.auth ?? t.appAuth,
      'X-Kinvey-API-Version': '7',
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
}

export async function signup(t: TestApp, username: string, password: string, email?: string): Promise<string> {
  const res = await call(t, 'POST', '/user/{app}', { body: { username, password, ...(email ? { email } : {}) } });
  if (res.status !== 201) throw new Error(`signup answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { _id: string })._id;
}

/** Logs in; the status and, on success, the session token. */
export async function login(
  t: TestApp,
  username: string,
  password: string,
): Promise<{ status: number; token?: string; error?: string }> {
  const res = await call(t, 'POST', '/user/{app}/login', { body: { username, password } });
  const body = (await res.json()) as { _kmd?: { authtoken?: string }; error?: string };
  return {
    status: res.status,
    ...(body._kmd?.authtoken ? { token: body._kmd.authtoken } : {}),
    ...(body.error ? { error: body.error } : {}),
  };
}

/** Posts an account page's form (as a browser would) to the page's own URL without its query. */
export async function postForm(link: string, fields: Record<string, string>): Promise<Response> {
  const url = new URL(link);
  return fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

export function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token') ?? '';
}
