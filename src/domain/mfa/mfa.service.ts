/**
 * Multi-factor authentication as kinvey-js-sdk 7 speaks it: TOTP authenticators a user creates
 * and verifies, recovery codes, the MFA login (a challenge answered with a TOTP code) and
 * "remember this device" tokens. Storage is described in mfa-records.ts; the wire shapes and the
 * SDK files they come from in mfa.routes.ts.
 *
 * Rules (kinbase's; Kinvey documents none):
 * - MFA is on for a user once they have a verified authenticator; login then answers a challenge
 *   instead of a session, unless the body carries a valid device token or recovery code. Basic
 *   user credentials, which have no second factor, are refused for such a user (users.service.ts).
 * - Only the user themselves or master manages a user's authenticators and recovery codes.
 * - A TOTP code works within ±1 step and once: each authenticator remembers its last used step,
 *   set by a compare-and-set, so two concurrent requests cannot both use one code.
 * - Failed codes (verification, MFA completion, recovery codes) are counted per user in a throttle
 *   of their own: 429 TooManyLoginAttempts with Retry-After once the limit is reached.
 * - MFA session tokens live 5 minutes and are single use; device tokens live 30 days. Removing a
 *   user's last verified authenticator turns MFA off: recovery codes, pending MFA sessions and
 *   device tokens go with it.
 */
import {
  createAuthenticatorBodySchema,
  mfaChallengeBodySchema,
  mfaCompleteBodySchema,
  verifyAuthenticatorBodySchema,
  type CreateAuthenticatorBody,
  type MfaChallengeBody,
  type MfaCompleteBody,
  type VerifyAuthenticatorBody,
} from '../../../schemas/mfa.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { DocumentStore, SharedCounters, StoredDocument } from '../ports';
import { isPlainObject } from '../access/acl';
import { checkClientId, newEntityId } from '../appdata/entity-fields';
import { errors } from '../errors';
import { LoginThrottle } from '../users/login-throttle';
import { MemorySharedState } from '../memory-shared-state';
import {
  AUTHENTICATOR_COLLECTION,
  DEVICE_TOKEN_COLLECTION,
  MAX_TOKEN_LENGTH,
  MFA_SESSION_COLLECTION,
  MfaIndexes,
  RECOVERY_CODE_COLLECTION,
  maskedRecoveryCode,
  mfaScope,
  newRecoveryCode,
  newToken,
  normalizeRecoveryCode,
  recoveryCodeId,
  tokenHash,
} from './mfa-records';
import type { Principal } from '../access/principal';
import { generateTotpSecret, matchTotp, TOTP_DIGITS, TOTP_STEP_SECONDS } from './totp';
import { ACTIVE_USERS, userScope } from '../users/user-records';

export const MFA_SESSION_TTL_SECONDS = 300;
export const DEVICE_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const RECOVERY_CODE_COUNT = 10;
/** Verified authenticators per user; creating one also drops the user's older unverified ones. */
export const MAX_AUTHENTICATORS = 10;
/** Failed MFA codes per user before 429, per window. */
export const MFA_FAILURE_LIMITS = {
  windowSeconds: 300,
  failuresPerUsername: 5,
  failuresPerClient: Number.MAX_SAFE_INTEGER,
};

/** An authenticator as lists and login challenges show it (never its secret). */
export interface AuthenticatorSummary {
  readonly id: string;
  readonly name: string;
  readonly type: 'totp';
}

/** The answer to a password login of a user with MFA on (kinvey-js-sdk 7 loginWithMFA.js). */
export interface MfaChallenge {
  readonly mfaRequired: true;
  readonly mfaSessionToken: string;
  readonly userId: string;
  readonly authenticators: AuthenticatorSummary[];
}

/** What the login must do after the password check. */
export type SecondFactorGate =
  | { readonly kind: 'off' }
  | { readonly kind: 'passed' }
  | { readonly kind: 'challenge'; readonly challenge: MfaChallenge };

/** What users.service.ts asks after a right password. */
export interface SecondFactor {
  /** Decides, after a right password, whether this login needs its second factor; throws for a wrong recovery code. */
  gateLogin(appKey: string, user: StoredDocument, body: Record<string, unknown>): Promise<SecondFactorGate>;
  /** Whether the user has MFA on (a verified authenticator): then no password alone lets them in. */
  isOn(appKey: string, userId: string): Promise<boolean>;
}

export interface MfaServiceOptions {
  readonly clock?: () => Date;
  /** Where failed codes are counted: the store's shared counters (so every instance counts together). */
  readonly counters?: SharedCounters;
  /** Issuer shown by authenticator apps (the `otpauth://` URI). */
  readonly issuer?: (appKey: string) => string;
}

export class MfaService implements SecondFactor {
  private readonly clock: () => Date;
  private readonly failures: LoginThrottle;
  private readonly indexes: MfaIndexes;
  private readonly issuer: (appKey: string) => string;

  constructor(
    private readonly store: DocumentStore,
    options: MfaServiceOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.failures = new LoginThrottle({
      counters: options.counters ?? new MemorySharedState({ clock: this.clock }),
      namespace: 'mfa',
      clock: this.clock,
      limits: MFA_FAILURE_LIMITS,
    });
    this.indexes = new MfaIndexes(store);
    this.issuer = options.issuer ?? (() => 'kinbase');
  }

  /**
   * Creates an unverified TOTP authenticator and returns it with its secret (the only time the
   * secret leaves the server). Throws 401 InsufficientCredentials for anyone but the user or
   * master, 404 UserNotFound, 400 for a malformed body or too many authenticators.
   */
  async createAuthenticator(principal: Principal, userId: string, body: unknown): Promise<Record<string, unknown>> {
    const user = await this.ownerOf(principal, userId);
    const input = parse<CreateAuthenticatorBody>(createAuthenticatorBodySchema, body ?? {}, 'authenticator');
    const { appKey } = principal;
    await this.indexes.ensure(appKey);
    const scope = mfaScope(appKey, AUTHENTICATOR_COLLECTION);
    await this.store.deleteMany(scope, { userId, verified: false });
    if ((await this.store.count(scope, { userId })) >= MAX_AUTHENTICATORS) {
      throw errors.parameterValueOutOfRange(
        `A user may have at most ${MAX_AUTHENTICATORS} authenticators; remove one first.`,
      );
    }
    const doc = {
      // Ordered ids: authenticators created in the same millisecond still list in creation order.
      _id: newEntityId(this.clock()),
      userId,
      name: input.name ?? 'Authenticator',
      type: 'totp' as const,
      secret: generateTotpSecret(),
      verified: false,
      lastUsedStep: -1,
      createdAt: this.clock().toISOString(),
    };
    await this.store.insert(scope, doc);
    const label = encodeURIComponent(
      `${this.issuer(appKey)}:${typeof user.username === 'string' ? user.username : userId}`,
    );
    const uri = `otpauth://totp/${label}?secret=${doc.secret}&issuer=${encodeURIComponent(this.issuer(appKey))}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_STEP_SECONDS}`;
    return {
      id: doc._id,
      name: doc.name,
      type: doc.type,
      config: { secret: doc.secret, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_STEP_SECONDS, uri },
    };
  }

  /**
   * Verifies an authenticator with a current code; the user's first verified authenticator turns
   * MFA on and answers its recovery codes (`{recoveryCodes}`), a further one answers `{}`.
   * Throws 400 ValidationError for a wrong or used code, 404 AuthenticatorNotFound, 429.
   */
  async verifyAuthenticator(
    principal: Principal,
    userId: string,
    authenticatorId: string,
    body: unknown,
  ): Promise<{ recoveryCodes?: string[] }> {
    await this.ownerOf(principal, userId);
    const { code } = parse<VerifyAuthenticatorBody>(verifyAuthenticatorBodySchema, body, 'body');
    const { appKey } = principal;
    const [authenticator] = await this.store.findByIds(mfaScope(appKey, AUTHENTICATOR_COLLECTION), [authenticatorId], {
      userId,
    });
    if (!authenticator) throw errors.authenticatorNotFound();
    if (authenticator.verified === true) throw errors.badRequest('This authenticator is already verified.');
    const wasOn = await this.isOn(appKey, userId);
    await this.useCode(appKey, userId, [authenticator], code);
    await this.store.setFields(mfaScope(appKey, AUTHENTICATOR_COLLECTION), authenticatorId, {
      verified: true,
      verifiedAt: this.clock().toISOString(),
    });
    return wasOn ? {} : { recoveryCodes: await this.replaceRecoveryCodes(appKey, userId) };
  }

  /** The user's verified authenticators, oldest first. */
  async listAuthenticators(principal: Principal, userId: string): Promise<AuthenticatorSummary[]> {
    await this.ownerOf(principal, userId);
    return (await this.verifiedAuthenticators(principal.appKey, userId)).map(summary);
  }

  /** Removes an authenticator; removing the last verified one turns MFA off. Throws 404 AuthenticatorNotFound. */
  async removeAuthenticator(principal: Principal, userId: string, authenticatorId: string): Promise<void> {
    await this.ownerOf(principal, userId);
    const { appKey } = principal;
    if (!(await this.store.deleteById(mfaScope(appKey, AUTHENTICATOR_COLLECTION), authenticatorId, { userId })))
      throw errors.authenticatorNotFound();
    if (await this.isOn(appKey, userId)) return;
    await Promise.all(
      (
        [AUTHENTICATOR_COLLECTION, RECOVERY_CODE_COLLECTION, MFA_SESSION_COLLECTION, DEVICE_TOKEN_COLLECTION] as const
      ).map((c) => this.store.deleteMany(mfaScope(appKey, c), { userId })),
    );
  }

  /**
   * The user's unused recovery codes, masked: codes are stored hashed, so they are shown in full
   * only when made (first verification, regeneration).
   */
  async listRecoveryCodes(principal: Principal, userId: string): Promise<{ recoveryCodes: string[] }> {
    await this.ownerOf(principal, userId);
    const codes = await this.store.find(
      mfaScope(principal.appKey, RECOVERY_CODE_COLLECTION),
      { userId },
      { sort: [['createdAt', 1]] },
    );
    return { recoveryCodes: codes.map((c) => maskedRecoveryCode(String(c.hint))) };
  }

  /** Replaces the user's recovery codes with new ones, shown once. Throws 400 BadRequest when MFA is off. */
  async regenerateRecoveryCodes(principal: Principal, userId: string): Promise<{ recoveryCodes: string[] }> {
    await this.ownerOf(principal, userId);
    if (!(await this.isOn(principal.appKey, userId)))
      throw errors.badRequest('Recovery codes need a verified authenticator first.');
    return { recoveryCodes: await this.replaceRecoveryCodes(principal.appKey, userId) };
  }

  async gateLogin(appKey: string, user: StoredDocument, body: Record<string, unknown>): Promise<SecondFactorGate> {
    const authenticators = await this.verifiedAuthenticators(appKey, user._id);
    if (authenticators.length === 0) return { kind: 'off' };
    if (typeof body.recoveryCode === 'string') {
      await this.useRecoveryCode(appKey, user._id, body.recoveryCode);
      return { kind: 'passed' };
    }
    if (typeof body.deviceToken === 'string' && (await this.isTrustedDevice(appKey, user._id, body.deviceToken)))
      return { kind: 'passed' };
    const mfaSessionToken = newToken();
    const now = this.clock();
    const scope = mfaScope(appKey, MFA_SESSION_COLLECTION);
    await this.indexes.ensure(appKey);
    await this.store.deleteMany(scope, { userId: user._id, expiresAt: { $lte: now.toISOString() } });
    await this.store.insert(scope, {
      _id: tokenHash(mfaSessionToken),
      userId: user._id,
      authenticatorId: null,
      expiresAt: new Date(now.getTime() + MFA_SESSION_TTL_SECONDS * 1000).toISOString(),
    });
    return {
      kind: 'challenge',
      challenge: { mfaRequired: true, mfaSessionToken, userId: user._id, authenticators: authenticators.map(summary) },
    };
  }

  /** Whether the user has a verified authenticator (one count query). */
  async isOn(appKey: string, userId: string): Promise<boolean> {
    return (await this.store.count(mfaScope(appKey, AUTHENTICATOR_COLLECTION), { userId, verified: true })) > 0;
  }

  /**
   * `mfa/challenge`: picks the authenticator whose code will complete this MFA session. Throws
   * 401 InvalidCredentials for an unknown, expired or used MFA session, 404 AuthenticatorNotFound.
   */
  async challenge(appKey: string, mfaSessionToken: string, body: unknown): Promise<void> {
    const session = await this.mfaSession(appKey, mfaSessionToken);
    const { authenticatorId } = parse<MfaChallengeBody>(mfaChallengeBodySchema, body, 'body');
    const [authenticator] = await this.store.findByIds(mfaScope(appKey, AUTHENTICATOR_COLLECTION), [authenticatorId], {
      userId: session.userId,
      verified: true,
    });
    if (!authenticator) throw errors.authenticatorNotFound();
    await this.store.setFields(mfaScope(appKey, MFA_SESSION_COLLECTION), session._id, { authenticatorId });
  }

  /**
   * `mfa/complete`: checks the code (of the challenged authenticator, or of any when none was
   * challenged), ends the MFA session and returns whose login it is, with a new device token when
   * asked. Throws 401 InvalidCredentials for a bad MFA session, 400 ValidationError, 429.
   */
  async complete(
    appKey: string,
    mfaSessionToken: string,
    body: unknown,
  ): Promise<{ userId: string; deviceToken?: string }> {
    const session = await this.mfaSession(appKey, mfaSessionToken);
    const input = parse<MfaCompleteBody>(mfaCompleteBodySchema, body, 'body');
    const userId = String(session.userId);
    const all = await this.verifiedAuthenticators(appKey, userId);
    const candidates =
      typeof session.authenticatorId === 'string' ? all.filter((a) => a._id === session.authenticatorId) : all;
    await this.useCode(appKey, userId, candidates, input.code);
    // Single use: of two completions racing with two good codes, one wins the session.
    if (!(await this.store.deleteById(mfaScope(appKey, MFA_SESSION_COLLECTION), session._id))) throw badMfaSession();
    if (input.createDeviceToken !== true) return { userId };
    const deviceToken = newToken();
    const now = this.clock();
    const scope = mfaScope(appKey, DEVICE_TOKEN_COLLECTION);
    await this.store.deleteMany(scope, { userId, expiresAt: { $lte: now.toISOString() } });
    await this.store.insert(scope, {
      _id: tokenHash(deviceToken),
      userId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + DEVICE_TOKEN_TTL_SECONDS * 1000).toISOString(),
    });
    return { userId, deviceToken };
  }

  /** Master, or the user themselves; master gets 404 UserNotFound for a user that does not exist. Returns the user (id only for a self request). */
  private async ownerOf(principal: Principal, userId: string): Promise<StoredDocument> {
    checkClientId(userId);
    if (principal.kind === 'user' && principal.userId === userId) return { _id: userId, username: principal.username };
    if (principal.kind !== 'master')
      throw errors.insufficientCredentials('Only the user themselves or master manages their authenticators.');
    const [user] = await this.store.findByIds(userScope(principal.appKey), [userId], ACTIVE_USERS);
    if (!user) throw errors.userNotFound(`No user with _id ${userId.slice(0, 100)}.`);
    return user;
  }

  private async verifiedAuthenticators(appKey: string, userId: string): Promise<StoredDocument[]> {
    return this.store.find(
      mfaScope(appKey, AUTHENTICATOR_COLLECTION),
      { userId, verified: true },
      { sort: [['createdAt', 1]] },
    );
  }

  /**
   * Accepts a code of one of the authenticators and records its step as used, or throws 400
   * ValidationError (counted) or 429 (when the user has failed too often: checked before any
   * code, so a right code is refused too and the answer tells nothing).
   */
  private async useCode(appKey: string, userId: string, authenticators: StoredDocument[], code: string): Promise<void> {
    const attempt = { appKey, username: userId };
    const wait = await this.failures.admit(attempt);
    if (wait > 0) throw errors.tooManyLoginAttempts(wait, 'Too many wrong MFA codes for this user; retry later.');
    const now = this.clock();
    for (const authenticator of authenticators) {
      const last = typeof authenticator.lastUsedStep === 'number' ? authenticator.lastUsedStep : -1;
      const step = matchTotp(String(authenticator.secret), code.trim(), now, last);
      if (step === null) continue;
      // Compare-and-set: only a step later than the last used one is taken, once.
      const taken = await this.store.setFields(
        mfaScope(appKey, AUTHENTICATOR_COLLECTION),
        authenticator._id,
        { lastUsedStep: step },
        { lastUsedStep: { $lt: step } },
      );
      if (!taken) break;
      await this.failures.succeeded(attempt);
      return;
    }
    throw errors.mfaCodeRejected('The code is wrong, expired or already used.');
  }

  private async useRecoveryCode(appKey: string, userId: string, code: string): Promise<void> {
    const attempt = { appKey, username: userId };
    const wait = await this.failures.admit(attempt);
    if (wait > 0) throw errors.tooManyLoginAttempts(wait, 'Too many wrong MFA codes for this user; retry later.');
    const valid =
      code.length <= MAX_TOKEN_LENGTH &&
      normalizeRecoveryCode(code).length > 0 &&
      (await this.store.deleteById(mfaScope(appKey, RECOVERY_CODE_COLLECTION), recoveryCodeId(userId, code), {
        userId,
      }));
    if (!valid) throw errors.invalidCredentials('The recovery code is wrong or already used.');
    await this.failures.succeeded(attempt);
  }

  private async isTrustedDevice(appKey: string, userId: string, token: string): Promise<boolean> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
    const [device] = await this.store.findByIds(mfaScope(appKey, DEVICE_TOKEN_COLLECTION), [tokenHash(token)], {
      userId,
    });
    return !!device && typeof device.expiresAt === 'string' && Date.parse(device.expiresAt) > this.clock().getTime();
  }

  private async mfaSession(appKey: string, token: string): Promise<StoredDocument> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw badMfaSession();
    const [session] = await this.store.findByIds(mfaScope(appKey, MFA_SESSION_COLLECTION), [tokenHash(token)]);
    if (!session || typeof session.userId !== 'string') throw badMfaSession();
    if (typeof session.expiresAt !== 'string' || Date.parse(session.expiresAt) <= this.clock().getTime())
      throw badMfaSession();
    return session;
  }

  private async replaceRecoveryCodes(appKey: string, userId: string): Promise<string[]> {
    const scope = mfaScope(appKey, RECOVERY_CODE_COLLECTION);
    await this.indexes.ensure(appKey);
    await this.store.deleteMany(scope, { userId });
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const createdAt = this.clock().toISOString();
    await Promise.all(
      codes.map((code) =>
        this.store.insert(scope, {
          _id: recoveryCodeId(userId, code),
          userId,
          hint: normalizeRecoveryCode(code).slice(-4),
          createdAt,
        }),
      ),
    );
    return codes;
  }
}

function summary(doc: StoredDocument): AuthenticatorSummary {
  return { id: doc._id, name: String(doc.name), type: 'totp' };
}

function badMfaSession() {
  return errors.invalidCredentials('The MFA session token is unknown, expired or used.');
}

function parse<T>(schema: object, body: unknown, root: string): T {
  if (!isPlainObject(body)) throw errors.badRequest(`${root} must be a JSON object.`);
  const validate = validatorFor<T>(schema);
  if (!validate(body)) throw errors.badRequest(describeErrors(validate.errors, root).join('; '));
  return body;
}
