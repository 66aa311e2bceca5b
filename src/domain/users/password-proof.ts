/**
 * The one check of a user's password. Every way of proving one (`POST /user/:appKey/login`, Basic
 * user credentials on any route) comes through `PasswordProof.check`, so all of them share the
 * failed-login throttle (login-throttle.ts), the same hashing work for unknown users, and the
 * refusal of disabled users. What a right password then grants (a session, an MFA challenge, one
 * request) is the caller's to decide.
 */
import type { DocumentStore, StoredDocument } from '../ports';
import { restrict } from '../access/acl';
import { errors } from '../errors';
import type { LoginAttempt, LoginThrottle } from './login-throttle';
import { HashingBusyError, type PasswordHasher } from './passwords';
import { ACTIVE_USERS, credentialScope, userScope } from './user-records';

export class PasswordProof {
  constructor(
    private readonly store: DocumentStore,
    private readonly passwords: PasswordHasher,
    readonly throttle: LoginThrottle,
  ) {}

  /**
   * Throws 429 TooManyLoginAttempts when an attempt for this username from this client would be
   * refused now; counts nothing. Lets the login pipeline turn a throttled flood away before it
   * runs any login hook (check() still decides for the attempt the hooks leave).
   */
  async refuseWhileThrottled(attempt: LoginAttempt): Promise<void> {
    const wait = await this.throttle.retryAfterSeconds(attempt);
    if (wait > 0) throw throttled(wait);
  }

  /**
   * The active user whose username and password these are, or null (unknown user, disabled user
   * or wrong password, after the same hashing work). Counted by the throttle; throws 429
   * TooManyLoginAttempts (with `retryAfterSeconds`) before any lookup or hashing when the
   * username or the client is over its limit, and when the hashing queue is full.
   */
  async check(attempt: LoginAttempt, password: string): Promise<StoredDocument | null> {
    // Refused before any lookup or hashing, so a flood of throttled attempts costs almost nothing.
    const wait = await this.throttle.admit(attempt);
    if (wait > 0) throw throttled(wait);
    // Admitted attempts count as failures from here on (so concurrent guesses see each other);
    // a right password takes its count back, and so does a check that never happened.
    const { appKey, username } = attempt;
    let matches: boolean;
    let user: StoredDocument | undefined;
    let credential: StoredDocument | undefined;
    try {
      [user] = await this.store.find(userScope(appKey), restrict({ username }, ACTIVE_USERS), { limit: 1 });
      [credential] = user ? await this.store.findByIds(credentialScope(appKey), [user._id]) : [];
      // Unknown users cost a hash too, so timing does not tell which usernames exist.
      matches =
        !user || !credential || typeof credential.hash !== 'string'
          ? await this.passwords.verifyAgainstNothing(password)
          : await this.passwords.verify(password, credential.hash);
    } catch (err) {
      // Taking the count back is best effort: the store may be what failed.
      await this.throttle.withdraw(attempt).catch(() => undefined);
      throw translateBusy(err);
    }
    if (!matches || !user) {
      // Set by `kinbase pull`: the source could not give the hash; a reset writes the first one.
      if (user && credential?.resetRequired === true) throw errors.passwordResetRequired();
      return null;
    }
    await this.throttle.succeeded(attempt);
    return user;
  }
}

function throttled(wait: number) {
  return errors.tooManyLoginAttempts(
    wait,
    'Too many failed logins for this username or from this client; retry later.',
  );
}

/** A full hashing queue is the server asking for a short pause, not a failure of the request. */
export function translateBusy(err: unknown): unknown {
  if (err instanceof HashingBusyError)
    return errors.tooManyLoginAttempts(1, 'The server is busy checking other passwords; retry in a second.');
  return err;
}
