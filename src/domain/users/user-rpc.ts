/**
 * The user rpc helpers (`/rpc/:appKey/...`): username existence checks and the password-reset,
 * e-mail-verification and forgot-username flows. kinbase has no mail transport, so the flows
 * only record their state in the user's `_kmd` (Kinvey's `passwordReset`, `emailVerification`
 * shapes), where the console, business logic or an operator can pick it up.
 */
import {
  checkUsernameBodySchema,
  forgotUsernameBodySchema,
  type CheckUsernameBody,
  type ForgotUsernameBody,
} from '../../../schemas/user.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { DocumentStore } from '../ports';
import { restrict } from '../access/acl';
import { errors } from '../errors';
import { ACTIVE_USERS, userScope } from './user-records';

/** At most this many accounts are touched by one forgot-username request. */
const MAX_NOTICES = 100;

export class UserNoticesService {
  constructor(
    private readonly store: DocumentStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Whether the username is taken; soft-deleted users still hold theirs. Throws 400 for a bad body. */
  async usernameExists(appKey: string, body: unknown): Promise<boolean> {
    const { username } = checkBody<CheckUsernameBody>(checkUsernameBodySchema, body);
    return (await this.store.count(userScope(appKey), { username })) > 0;
  }

  /**
   * Starts a password reset for the active user with this username, else with this e-mail
   * address. Unknown users are silently ignored, so the answer never reveals who exists.
   */
  async initiatePasswordReset(appKey: string, usernameOrEmail: string): Promise<void> {
    const scope = userScope(appKey);
    let [user] = await this.store.find(scope, restrict({ username: usernameOrEmail }, ACTIVE_USERS), { limit: 1 });
    [user] = user
      ? [user]
      : await this.store.find(scope, restrict({ email: usernameOrEmail }, ACTIVE_USERS), { limit: 1 });
    if (!user) return;
    const now = this.clock().toISOString();
    await this.store.setFields(scope, user._id, {
      '_kmd.passwordReset': { status: 'InProgress', lastStateChangeAt: now },
    });
  }

  /**
   * Records that a verification mail was "sent" to the user's e-mail address. Users that are
   * unknown or have no e-mail address are ignored (nothing could be sent).
   */
  async initiateEmailVerification(appKey: string, username: string): Promise<void> {
    const scope = userScope(appKey);
    const [user] = await this.store.find(scope, restrict({ username }, ACTIVE_USERS), { limit: 1 });
    if (!user || typeof user.email !== 'string' || user.email === '') return;
    const now = this.clock().toISOString();
    await this.store.setFields(scope, user._id, {
      '_kmd.emailVerification': { status: 'sent', lastStateChangeAt: now, emailAddress: user.email },
    });
  }

  /** Records a username reminder for every active user with this e-mail address. Throws 400 for a bad body. */
  async forgotUsername(appKey: string, body: unknown): Promise<void> {
    const { email } = checkBody<ForgotUsernameBody>(forgotUsernameBodySchema, body);
    const scope = userScope(appKey);
    const users = await this.store.find(scope, restrict({ email }, ACTIVE_USERS), {
      limit: MAX_NOTICES,
      fields: ['_id'],
    });
    const now = this.clock().toISOString();
    await Promise.all(
      users.map((u) =>
        this.store.setFields(scope, u._id, { '_kmd.forgotUsername': { status: 'sent', lastStateChangeAt: now } }),
      ),
    );
  }
}

function checkBody<T>(schema: object, body: unknown): T {
  const validate = validatorFor<T>(schema);
  if (!validate(body)) throw errors.incompleteRequestBody(describeErrors(validate.errors, 'body').join('; '));
  return body;
}
