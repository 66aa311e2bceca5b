/**
 * What the links of account mails do once followed (the pages in http/routes/account): set a new
 * password, confirm an e-mail address. A link that is unknown, used, expired, for another purpose
 * or whose user is gone answers `false`, all alike, so a page tells nothing more about it.
 */
import { passwordSchema } from '../../../schemas/user.schema';
import { validatorFor } from '../../../schemas/validator';
import type { DocumentStore } from '../ports';
import type { AccountLinks } from './account-links';
import { ACTIVE_USERS, userScope } from './user-records';

/** Sets a user's password and ends every session of the user (UsersService.setPassword). */
export type PasswordSetter = (appKey: string, userId: string, password: string) => Promise<void>;

export type ResetOutcome = 'done' | 'bad-link' | 'bad-password';

export class AccountRecovery {
  private readonly clock: () => Date;

  constructor(
    private readonly store: DocumentStore,
    private readonly links: AccountLinks,
    private readonly setPassword: PasswordSetter,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /** Whether the page should show its form for this token (the link is not used by looking). */
  async isLive(appKey: string, token: string, purpose: 'password-reset' | 'email-verification'): Promise<boolean> {
    return this.links.isLive(appKey, token, purpose);
  }

  /**
   * Sets a new password through a reset link. The password must pass the same rules as signup's
   * (checked before the link is used, so a typo does not burn it). Then the link is used, the
   * password set, every session of the user ended and every other reset link of the user voided.
   */
  async resetPassword(appKey: string, token: string, password: unknown): Promise<ResetOutcome> {
    if (!validatorFor<string>(passwordSchema)(password)) return 'bad-password';
    if (!(await this.links.isLive(appKey, token, 'password-reset'))) return 'bad-link';
    const link = await this.links.use(appKey, token, 'password-reset');
    if (!link) return 'bad-link';
    const [user] = await this.store.findByIds(userScope(appKey), [link.userId], ACTIVE_USERS);
    if (!user) return 'bad-link';
    await this.links.revokeAll(appKey, link.userId, 'password-reset');
    await this.setPassword(appKey, link.userId, password);
    await this.store.setFields(userScope(appKey), link.userId, {
      '_kmd.passwordReset': { status: 'Completed', lastStateChangeAt: this.clock().toISOString() },
    });
    return 'done';
  }

  /**
   * Confirms an e-mail address through a verification link: `_kmd.emailVerification` becomes
   * Kinvey's confirmed shape. A link sent to an address the user has changed since is void.
   */
  async confirmEmail(appKey: string, token: string): Promise<boolean> {
    const link = await this.links.use(appKey, token, 'email-verification');
    if (!link) return false;
    const [user] = await this.store.findByIds(userScope(appKey), [link.userId], ACTIVE_USERS);
    if (!user || typeof user.email !== 'string' || user.email !== link.email) return false;
    const now = this.clock().toISOString();
    await this.store.setFields(userScope(appKey), link.userId, {
      '_kmd.emailVerification': {
        status: 'confirmed',
        lastStateChangeAt: now,
        lastConfirmedAt: now,
        emailAddress: user.email,
      },
    });
    return true;
  }
}
