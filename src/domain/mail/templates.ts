/**
 * The account mails' texts: the app's own (apps file `mailTemplates`) or the built-in ones below.
 * Placeholders are `{{name}}`; a value filled into the HTML part is HTML-escaped, one filled into
 * the subject loses its line breaks (no header injection), and the plain-text part is always sent.
 */
import type { AppDefinition, MailKind, MailTemplate } from '../apps/app-definition';
import type { MailMessage } from '../ports';

/** What a template can say. Absent values become the empty string. */
export interface MailValues {
  readonly appName: string;
  readonly link?: string;
  readonly username?: string;
  /** The usernames of a forgot-username mail, one a line. */
  readonly usernames?: readonly string[];
  /** How long the link works, in words ("1 hour"). */
  readonly expiresIn?: string;
}

const BUILT_IN: Readonly<Record<MailKind, Required<MailTemplate>>> = {
  passwordReset: {
    subject: 'Reset your {{appName}} password',
    text: [
      'Hello {{username}},',
      '',
      'Someone asked to reset the password of your {{appName}} account. To choose a new password, open this link within {{expiresIn}}:',
      '',
      '{{link}}',
      '',
      'The link works once. If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
    html: [
      '<p>Hello {{username}},</p>',
      '<p>Someone asked to reset the password of your {{appName}} account. To choose a new password, open this link within {{expiresIn}}:</p>',
      '<p><a href="{{link}}">Choose a new password</a></p>',
      '<p>The link works once. If you did not ask for this, ignore this mail: your password stays as it is.</p>',
    ].join('\n'),
  },
  emailVerification: {
    subject: 'Confirm your e-mail address for {{appName}}',
    text: [
      'Hello {{username}},',
      '',
      'Please confirm that this is the e-mail address of your {{appName}} account by opening this link within {{expiresIn}}:',
      '',
      '{{link}}',
      '',
      'If you did not sign up for {{appName}}, ignore this mail.',
    ].join('\n'),
    html: [
      '<p>Hello {{username}},</p>',
      '<p>Please confirm that this is the e-mail address of your {{appName}} account by opening this link within {{expiresIn}}:</p>',
      '<p><a href="{{link}}">Confirm my e-mail address</a></p>',
      '<p>If you did not sign up for {{appName}}, ignore this mail.</p>',
    ].join('\n'),
  },
  forgotUsername: {
    subject: 'Your {{appName}} username',
    text: [
      'Hello,',
      '',
      'You asked for the usernames of the {{appName}} accounts with this e-mail address:',
      '',
      '{{usernames}}',
      '',
      'If you did not ask for this, ignore this mail.',
    ].join('\n'),
    html: [
      '<p>Hello,</p>',
      '<p>You asked for the usernames of the {{appName}} accounts with this e-mail address:</p>',
      '<p>{{usernames}}</p>',
      '<p>If you did not ask for this, ignore this mail.</p>',
    ].join('\n'),
  },
};

const PLACEHOLDER = /\{\{\s*(appName|link|username|usernames|expiresIn)\s*\}\}/g;

/** The mail of this kind for this app, to `to`. */
export function renderMail(app: AppDefinition, kind: MailKind, to: string, values: MailValues): MailMessage {
  const own = app.mailTemplates?.[kind];
  const template: MailTemplate = own ?? BUILT_IN[kind];
  const text = fill(template.text, values, (v) => v, '\n');
  const subject = fill(template.subject, values, (v) => v.replace(/[\r\n\t]+/g, ' '), ', ').slice(0, 250);
  const html = template.html === undefined ? undefined : fill(template.html, values, escapeHtml, '<br>');
  return { to, subject, text, ...(html === undefined ? {} : { html }) };
}

function fill(template: string, values: MailValues, escape: (value: string) => string, lineBreak: string): string {
  return template.replace(PLACEHOLDER, (_match, name: keyof MailValues) => {
    const value = values[name];
    if (value === undefined) return '';
    if (typeof value === 'string') return escape(value);
    return value.map(escape).join(lineBreak);
  });
}

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "1 hour", "30 minutes", "2 days": a link's lifetime in words for a mail. */
export function durationInWords(seconds: number): string {
  const units: Array<[number, string]> = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  const minutes = Math.max(1, Math.floor(seconds / 60));
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
