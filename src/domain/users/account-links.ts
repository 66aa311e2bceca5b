/**
 * The single-use links of account mails (password reset, e-mail verification). A link carries a
 * long random token (32 bytes, base64url); the store keeps only its SHA-256, in the app's internal
 * `_accountLink` collection, with the user, the purpose and the expiry. So a leak of the store
 * leaks no usable link, and a token is only ever compared by looking its hash up.
 *
 * A link is used by deleting its record: of two requests with the same token only the one whose
 * delete removed it goes on, so a link works once even under a race.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CollectionScope, DocumentStore } from '../ports';

export const ACCOUNT_LINK_COLLECTION = '_accountLink';

export type LinkPurpose = 'password-reset' | 'email-verification';

/** What a used link was for. */
export interface UsedLink {
  readonly userId: string;
  readonly purpose: LinkPurpose;
  /** For a verification link: the address it was sent to (a later change of address voids it). */
  readonly email?: string;
}

/** A token's shape: 43 base64url characters; anything else is no link (and not looked up). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function accountLinkScope(appKey: string): CollectionScope {
  return { appKey, collection: ACCOUNT_LINK_COLLECTION };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class AccountLinks {
  constructor(
    private readonly store: DocumentStore,
    private readonly clock: () => Date,
  ) {}

  /**
   * Makes a link for `userId` that works until `ttlSeconds` from now, and returns its token (the
   * only time it exists in clear). The user's expired links of any purpose are removed first, so
   * they do not pile up.
   */
  async issue(
    appKey: string,
    userId: string,
    purpose: LinkPurpose,
    ttlSeconds: number,
    email?: string,
  ): Promise<string> {
    const scope = accountLinkScope(appKey);
    const now = this.clock();
    await this.store.deleteMany(scope, { userId, expiresAt: { $lte: now.toISOString() } });
    const token = randomBytes(32).toString('base64url');
    await this.store.insert(scope, {
      _id: hashToken(token),
      userId,
      purpose,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      ...(email === undefined ? {} : { email }),
    });
    return token;
  }

  /**
   * Whether `token` is a live link for `purpose`, without using it (the page shows its form only
   * for one). Unknown, used, expired and malformed tokens all answer false.
   */
  async isLive(appKey: string, token: string, purpose: LinkPurpose): Promise<boolean> {
    return (await this.lookup(appKey, token, purpose)) !== null;
  }

  /**
   * Uses a link: removes it and returns what it was for, or null for an unknown, used, expired or
   * malformed token, or one for another purpose (all alike, so the answer tells nothing more).
   */
  async use(appKey: string, token: string, purpose: LinkPurpose): Promise<UsedLink | null> {
    const found = await this.lookup(appKey, token, purpose);
    if (!found) return null;
    // Only the request whose delete removed the record goes on: a link works once, even in a race.
    if (!(await this.store.deleteById(accountLinkScope(appKey), found._id))) return null;
    return {
      userId: String(found.userId),
      purpose,
      ...(typeof found.email === 'string' ? { email: found.email } : {}),
    };
  }

  /** Removes every link of the user for `purpose` (a new password voids all other reset links). */
  async revokeAll(appKey: string, userId: string, purpose: LinkPurpose): Promise<void> {
    await this.store.deleteMany(accountLinkScope(appKey), { userId, purpose });
  }

  private async lookup(appKey: string, token: string, purpose: LinkPurpose) {
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
    const [found] = await this.store.findByIds(accountLinkScope(appKey), [hashToken(token)]);
    if (!found || found.purpose !== purpose || typeof found.expiresAt !== 'string') return null;
    if (found.expiresAt <= this.clock().toISOString()) return null;
    return found;
  }
}
