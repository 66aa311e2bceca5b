/**
 * The HTML of the account pages: one small document per state, under the app's name, with no
 * script and one same-origin stylesheet, so the strict Content-Security-Policy of
 * account.routes.ts holds. Every value placed in the page is HTML-escaped.
 */
import { escapeHtml } from '../../../domain/mail/templates';

export interface PageParts {
  /** The app's name (the page's heading and title). */
  readonly appName: string;
  readonly title: string;
  /** Paragraphs of plain text (escaped here). */
  readonly paragraphs?: readonly string[];
  /** An error line shown above the form (escaped here). */
  readonly error?: string;
  readonly form?: PageForm;
}

export interface PageForm {
  /** Relative to the page's URL (`password-reset`), so the token never rides in the POST's URL. */
  readonly action: string;
  readonly token: string;
  /** Ask for a new password (twice); otherwise the form is a single button. */
  readonly newPassword: boolean;
  readonly submit: string;
}

export function renderPage(parts: PageParts): string {
  const app = escapeHtml(parts.appName);
  const body: string[] = [`<p class="app">${app}</p>`, `<h1>${escapeHtml(parts.title)}</h1>`];
  if (parts.error) body.push(`<p class="error" role="alert">${escapeHtml(parts.error)}</p>`);
  for (const text of parts.paragraphs ?? []) body.push(`<p>${escapeHtml(text)}</p>`);
  if (parts.form) body.push(renderForm(parts.form));
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(parts.title)} · ${app}</title>`,
    '<link rel="stylesheet" href="../styles.css">',
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderForm(form: PageForm): string {
  const fields = form.newPassword
    ? [
        '<label for="password">New password</label>',
        '<input id="password" name="password" type="password" autocomplete="new-password" required maxlength="4096" autofocus>',
        '<label for="confirm">New password, again</label>',
        '<input id="confirm" name="confirm" type="password" autocomplete="new-password" required maxlength="4096">',
      ]
    : [];
  return [
    `<form method="post" action="${escapeHtml(form.action)}">`,
    `<input type="hidden" name="token" value="${escapeHtml(form.token)}">`,
    ...fields,
    `<button type="submit">${escapeHtml(form.submit)}</button>`,
    '</form>',
  ].join('\n');
}

/** The stylesheet of every account page (served from this origin; the CSP allows no inline style). */
export const ACCOUNT_PAGE_CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; display: flex; justify-content: center; }
main { width: min(26rem, 100% - 2rem); margin-top: 4rem; }
.app { font-weight: 600; opacity: 0.7; margin: 0; }
h1 { font-size: 1.5rem; margin: 0.25rem 0 1.25rem; }
form { display: flex; flex-direction: column; gap: 0.5rem; }
input { font: inherit; padding: 0.5rem; }
button { font: inherit; padding: 0.6rem; margin-top: 0.75rem; cursor: pointer; }
.error { color: #b3261e; }
`;
