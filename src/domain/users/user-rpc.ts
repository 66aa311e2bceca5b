/**
 * The user rpc helpers (`/rpc/:appKey/...`): username existence checks and the starts of the
 * password-reset, e-mail-verification and forgot-username flows. Each records its state in the
 * user's `_kmd` (Kinvey's `passwordReset`, `emailVerification` shapes) and, when mail is on,
 * queues the mail: a single-use link (account-links.ts) to the pages kinbase serves, or the
 * usernames. Every start answers the same whether or not the account exists, whether or not a
 * limit held it back (initiation-limits.ts); the mail itself never waits on the request.
 */
import {
  checkUsernameBodySchema,
  forgotUsernameBodySchema,
  type CheckUsernameBody,
  type ForgotUsernameBody,
} from '../../../schemas/user.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { AppDefinition } from '../apps/app-definition';
import type { DocumentStore, StoredDocument } from '../ports';
import { restrict } from '../access/acl';
import { errors } from '../errors';
import { durationInWords, renderMail } from '../mail/templates';
import type { MailOutbox } from '../mail/outbox';
import type { AccountLinks } from './account-links';
import type { InitiationThrottle } from './initiation-limits';
import { ACTIVE_USERS, userScope } from './user-records';

/** At most this many accounts are touched (and named in one mail) by one forgot-username request. */
const MAX_NOTICES = 100;

/** Mail on: where the mails go out and how their links are made. */
export interface AccountMail {
  readonly outbox: MailOutbox;
  /** KINBASE_PUBLIC_URL: the links point at its `/account/...` pages. */
  readonly publicUrl: string;
  readonly resetTtlSeconds: number;
  readonly verifyTtlSeconds: number;
}

export interface UserNoticesOptions {
  readonly clock?: () => Date;
  readonly links: AccountLinks;
  readonly throttle: InitiationThrottle;
  /** null: mail is off, the starts only record their state. */
  readonly mail: AccountMail | null;
}

export class UserNoticesService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: DocumentStore,
    private readonly options: UserNoticesOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Whether the username is taken; soft-deleted users still hold theirs. Throws 400 for a bad body. */
  async usernameExists(appKey: string, body: unknown): Promise<boolean> {
    const { username } = checkBody<CheckUsernameBody>(checkUsernameBodySchema, body);
    return (await this.store.count(userScope(appKey), { username })) > 0;
  }

  /**
   * Starts a password reset for the active user with this username, else with this e-mail
   * address, and (mail on) mails the user a reset link. Unknown users, users without an address
   * and limited starts are silently ignored, so the answer never reveals who exists.
   */
  async initiatePasswordReset(app: AppDefinition, usernameOrEmail: string, client?: string): Promise<void> {
    if (!this.options.throttle.admitClient(client)) return;
    const scope = userScope(app.appKey);
    let [user] = await this.store.find(scope, restrict({ username: usernameOrEmail }, ACTIVE_USERS), { limit: 1 });
    [user] = user
      ? [user]
      : await this.store.find(scope, restrict({ email: usernameOrEmail }, ACTIVE_USERS), { limit: 1 });
    if (!user) return;
    if (!this.options.throttle.admitAccount(`${app.appKey}\u0000reset\u0000${user._id}`)) return;
    const now = this.clock().toISOString();
    await this.store.setFields(scope, user._id, {
      '_kmd.passwordReset': { status: 'InProgress', lastStateChangeAt: now },
    });
    const mail = this.options.mail;
    const email = addressOf(user);
    if (!mail || email === null) return;
    const token = await this.options.links.issue(app.appKey, user._id, 'password-reset', mail.resetTtlSeconds);
    mail.outbox.enqueue(
      renderMail(app, 'passwordReset', email, {
        appName: app.name,
        username: String(user.username),
        link: resetLink(app, mail.publicUrl, token),
        expiresIn: durationInWords(mail.resetTtlSeconds),
      }),
    );
  }

  /**
   * Records that a verification mail was sent to the user's e-mail address and (mail on) sends it,
   * with a confirmation link. Users that are unknown or have no e-mail address are ignored.
   */
  async initiateEmailVerification(app: AppDefinition, username: string, client?: string): Promise<void> {
    if (!this.options.throttle.admitClient(client)) return;
    const scope = userScope(app.appKey);
    const [user] = await this.store.find(scope, restrict({ username }, ACTIVE_USERS), { limit: 1 });
    if (user) await this.sendVerification(app, user);
  }

  /** `settings.emailVerification.auto`: the verification mail of a user who just signed up. */
  async verifyAtSignup(app: AppDefinition, user: StoredDocument): Promise<void> {
    if (app.accounts?.emailVerification.auto !== true) return;
    await this.sendVerification(app, user);
  }

  /**
   * Records a username reminder for every active user with this e-mail address and (mail on)
   * sends one mail naming their usernames (at most 100). Throws 400 for a bad body.
   */
  async forgotUsername(app: AppDefinition, body: unknown, client?: string): Promise<void> {
    const { email } = checkBody<ForgotUsernameBody>(forgotUsernameBodySchema, body);
    if (!this.options.throttle.admitClient(client)) return;
    const scope = userScope(app.appKey);
    const users = await this.store.find(scope, restrict({ email }, ACTIVE_USERS), {
      limit: MAX_NOTICES,
      fields: ['_id', 'username'],
      sort: [['username', 1]],
    });
    if (users.length === 0) return;
    if (!this.options.throttle.admitAccount(`${app.appKey}\u0000username\u0000${email.toLowerCase()}`)) return;
    const now = this.clock().toISOString();
    await Promise.all(
      users.map((u) =>
        this.store.setFields(scope, u._id, { '_kmd.forgotUsername': { status: 'sent', lastStateChangeAt: now } }),
      ),
    );
    if (addressOf({ _id: '', email }) === null) return;
    this.options.mail?.outbox.enqueue(
      renderMail(app, 'forgotUsername', email, {
        appName: app.name,
        usernames: users.map((u) => String(u.username)),
      }),
    );
  }

  private async sendVerification(app: AppDefinition, user: StoredDocument): Promise<void> {
    const email = addressOf(user);
    if (email === null) return;
    if (!this.options.throttle.admitAccount(`${app.appKey}\u0000verify\u0000${user._id}`)) return;
    const now = this.clock().toISOString();
    await this.store.setFields(userScope(app.appKey), user._id, {
      '_kmd.emailVerification': { status: 'sent', lastStateChangeAt: now, emailAddress: email },
    });
    const mail = this.options.mail;
    if (!mail) return;
    const token = await this.options.links.issue(
      app.appKey,
      user._id,
      'email-verification',
      mail.verifyTtlSeconds,
      email,
    );
    mail.outbox.enqueue(
      renderMail(app, 'emailVerification', email, {
        appName: app.name,
        username: String(user.username),
        link: `${mail.publicUrl}/account/${encodeURIComponent(app.appKey)}/verify-email?token=${token}`,
        expiresIn: durationInWords(mail.verifyTtlSeconds),
      }),
    );
  }
}

/** The reset link: kinbase's page, or the app's own (`settings.passwordReset`) with appKey and token added. */
function resetLink(app: AppDefinition, publicUrl: string, token: string): string {
  const own = app.accounts?.passwordResetPage ?? null;
  if (own === null) return `${publicUrl}/account/${encodeURIComponent(app.appKey)}/password-reset?token=${token}`;
  const url = new URL(own);
  url.searchParams.set('appKey', app.appKey);
  url.searchParams.set('token', token);
  return url.toString();
}

/** The user's e-mail address, or null when it has none a mail could go to. */
function addressOf(user: StoredDocument): string | null {
  const email = user.email;
  return typeof email === 'string' && email.length > 2 && email.length <= 320 && /^[^\s@]+@[^\s@]+$/.test(email)
    ? email
    : null;
}

function checkBody<T>(schema: object, body: unknown): T {
  const validate = validatorFor<T>(schema);
  if (!validate(body)) throw errors.incompleteRequestBody(describeErrors(validate.errors, 'body').join('; '));
  return body;
}
