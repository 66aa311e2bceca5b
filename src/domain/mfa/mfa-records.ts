/**
 * Where MFA state lives. Every collection is internal (its name starts with `_`, so neither
 * /appdata nor /user can reach it) and nothing of it is ever copied into the user document:
 * - `_mfa_authenticator`: one TOTP authenticator (its secret, verified or not, last used step);
 * - `_mfa_recovery_code`: one unused recovery code, stored as sha256 of user id and code;
 * - `_mfa_session`: a pending MFA login (the challenge), stored as sha256 of its token;
 * - `_mfa_device`: a "remember this device" token, stored as sha256 of the token.
 * Tokens and codes are random and high-entropy, so an unsalted sha256 is enough: a leaked
 * database shows nothing a client could send.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { CollectionScope, DocumentStore } from '../ports';

export const AUTHENTICATOR_COLLECTION = '_mfa_authenticator';
export const RECOVERY_CODE_COLLECTION = '_mfa_recovery_code';
export const MFA_SESSION_COLLECTION = '_mfa_session';
export const DEVICE_TOKEN_COLLECTION = '_mfa_device';
const COLLECTIONS = [
  AUTHENTICATOR_COLLECTION,
  RECOVERY_CODE_COLLECTION,
  MFA_SESSION_COLLECTION,
  DEVICE_TOKEN_COLLECTION,
] as const;
export type MfaCollection = (typeof COLLECTIONS)[number];

/** Longer "tokens" are never ours; refused before hashing. */
export const MAX_TOKEN_LENGTH = 512;

/** Recovery codes leave out look-alike characters (0/o, 1/l/i): 31 symbols, 16 of them ≈ 79 bits. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const RECOVERY_CODE_LENGTH = 16;

export function mfaScope(appKey: string, collection: MfaCollection): CollectionScope {
  return { appKey, collection };
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A recovery code as the user sees it: `abcd-efgh-jkmn-pqrs`. */
export function newRecoveryCode(): string {
  const chars = Array.from(
    { length: RECOVERY_CODE_LENGTH },
    () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)],
  );
  return chars.join('').replace(/(.{4})(?=.)/g, '$1-');
}

/** What is hashed: lower case, without dashes or spaces, so `ABCD EFGH…` works as well. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The stored id of a user's recovery code; binding the user id in means a code works for its user only. */
export function recoveryCodeId(userId: string, code: string): string {
  return createHash('sha256')
    .update(`${userId}\u0000${normalizeRecoveryCode(code)}`)
    .digest('hex');
}

/** The last four characters: enough for a user to tell codes apart, far too few to guess one. */
export function maskedRecoveryCode(hint: string): string {
  return `****-****-****-${hint}`;
}

/** Creates the `userId` index of every MFA collection of an app, once per process. */
export class MfaIndexes {
  private readonly done = new Set<string>();
  constructor(private readonly store: DocumentStore) {}

  async ensure(appKey: string): Promise<void> {
    if (this.done.has(appKey)) return;
    await Promise.all(COLLECTIONS.map((c) => this.store.ensureIndex(mfaScope(appKey, c), { field: 'userId' })));
    this.done.add(appKey);
  }
}
