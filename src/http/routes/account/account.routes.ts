/**
 * `/account/:appKey/...`: the pages the links of account mails open (password reset, e-mail
 * verification). Plain HTML forms, no script, under a Content-Security-Policy as strict as the
 * console's (only this origin's stylesheet; forms post to this origin only; no framing). The token
 * rides in the link's query (never logged: access-log.ts redacts it) and then in the form's body.
 * Opening a link never uses it (mail scanners open links); only the form's POST does.
 *
 * A link that is unknown, used, expired or for an unknown app gets the same page and status.
 */
import express, { Router, type Request, type Response } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import type { AccountRecovery } from '../../../domain/users/account-recovery';
import { ACCOUNT_PAGE_CSS, renderPage, type PageParts } from './account-page';

/** The policy of every account page and of its stylesheet. */
export const ACCOUNT_PAGE_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const INVALID_LINK = {
  title: 'This link does not work',
  paragraphs: [
    'The link is not valid: it was used already, it expired, or it was never sent. Ask the app for a new one.',
  ],
};

export interface AccountRoutesDeps {
  apps: AppRegistry;
  recovery: AccountRecovery;
}

export function accountRoutes({ apps, recovery }: AccountRoutesDeps): Router {
  const router = Router();
  // A form body is small: a token and a password (at most 4096 characters) twice.
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  router.get('/account/styles.css', (_req, res) => {
    secureHeaders(res);
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type('text/css').send(ACCOUNT_PAGE_CSS);
  });

  router.get('/account/:appKey/password-reset', async (req, res) => {
    const app = apps.get(String(req.params.appKey));
    const token = tokenOf(req.query.token);
    if (!app || !(await recovery.isLive(app.appKey, token, 'password-reset')))
      return sendPage(res, 400, { appName: app?.name ?? 'kinbase', ...INVALID_LINK });
    sendPage(res, 200, resetForm(app.name, token));
  });

  router.post('/account/:appKey/password-reset', form, async (req, res) => {
    const app = apps.get(String(req.params.appKey));
    const body = formOf(req);
    const token = tokenOf(body.token);
    if (!app) return sendPage(res, 400, { appName: 'kinbase', ...INVALID_LINK });
    if (typeof body.password !== 'string' || body.password !== body.confirm)
      return sendPage(res, 400, resetForm(app.name, token, 'The two passwords differ: type the same one twice.'));
    const outcome = await recovery.resetPassword(app.appKey, token, body.password);
    if (outcome === 'bad-password')
      return sendPage(res, 400, resetForm(app.name, token, 'Choose a password of 1 to 4096 characters.'));
    if (outcome === 'bad-link') return sendPage(res, 400, { appName: app.name, ...INVALID_LINK });
    sendPage(res, 200, {
      appName: app.name,
      title: 'Your password is set',
      paragraphs: [`Log in to ${app.name} with your new password. You were logged out everywhere else.`],
    });
  });

  router.get('/account/:appKey/verify-email', async (req, res) => {
    const app = apps.get(String(req.params.appKey));
    const token = tokenOf(req.query.token);
    if (!app || !(await recovery.isLive(app.appKey, token, 'email-verification')))
      return sendPage(res, 400, { appName: app?.name ?? 'kinbase', ...INVALID_LINK });
    sendPage(res, 200, {
      appName: app.name,
      title: 'Confirm your e-mail address',
      paragraphs: [`Confirm that this e-mail address belongs to your ${app.name} account.`],
      form: { action: 'verify-email', token, newPassword: false, submit: 'Confirm my e-mail address' },
    });
  });

  router.post('/account/:appKey/verify-email', form, async (req, res) => {
    const app = apps.get(String(req.params.appKey));
    const token = tokenOf(formOf(req).token);
    if (!app || !(await recovery.confirmEmail(app.appKey, token)))
      return sendPage(res, 400, { appName: app?.name ?? 'kinbase', ...INVALID_LINK });
    sendPage(res, 200, {
      appName: app.name,
      title: 'Your e-mail address is confirmed',
      paragraphs: [`Thank you. You can go back to ${app.name}.`],
    });
  });

  return router;
}

function resetForm(appName: string, token: string, error?: string): PageParts {
  return {
    appName,
    title: 'Choose a new password',
    ...(error ? { error } : {}),
    form: { action: 'password-reset', token, newPassword: true, submit: 'Set my new password' },
  };
}

/** A token is one string (a repeated parameter is no token). */
function tokenOf(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 100) : '';
}

/** The parsed form, as an object whose own string fields are read (no prototype reach: extended is off). */
function formOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (!body || typeof body !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const key of ['token', 'password', 'confirm'])
    if (Object.hasOwn(body, key)) out[key] = (body as Record<string, unknown>)[key];
  return out;
}

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', ACCOUNT_PAGE_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

function sendPage(res: Response, status: number, parts: PageParts): void {
  secureHeaders(res);
  // The pages hold a token (in the form) and a user's state: nothing is kept by a cache.
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).type('text/html; charset=utf-8').send(renderPage(parts));
}
