/**
 * Session tokens: 32 random bytes handed to the client once, stored only as their sha256 in the
 * internal `_session` collection (a leaked database does not leak live tokens). The session
 * document carries the user's id and username, so resolving a token is one store round trip.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CollectionScope, DocumentStore } from '../ports';

export const SESSION_COLLECTION = '_session';
/** Sessions end after this long unless the user logs out first. */
export const DEFAULT_SESSION_TTL_SECONDS = 30 * 24 * 3600;
/** Longer "tokens" are never ours; refuse them before hashing. */
const MAX_TOKEN_LENGTH = 512;

/** Who a live session belongs to. */
export interface SessionOwner {
  readonly userId: string;
  readonly username: string;
}

export interface SessionStoreOptions {
  readonly clock?: () => Date;
  readonly ttlSeconds?: number;
}

export class SessionStore {
  private readonly indexed = new Set<string>();
  private readonly clock: () => Date;
  private readonly ttlMs: number;

  constructor(private readonly store: DocumentStore, options: SessionStoreOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS) * 1000;
  }

  /** Starts a session for the user and returns the clear-text token (never stored). */
  async issue(appKey: string, owner: SessionOwner): Promise<string> {
    const scope = sessionScope(appKey);
    await this.ensureIndex(scope);
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    await this.store.insert(scope, {
      _id: tokenHash(token),
      userId: owner.userId,
      username: owner.username,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.ttlMs).toISOString(),
    });
    return token;
  }

  /** The owner of a live session, or null for unknown, expired or revoked tokens. One round trip. */
  async resolve(appKey: string, token: string): Promise<SessionOwner | null> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const [session] = await this.store.findByIds(sessionScope(appKey), [tokenHash(token)]);
    if (!session || typeof session.userId !== 'string' || typeof session.username !== 'string') return null;
    if (typeof session.expiresAt !== 'string' || Date.parse(session.expiresAt) <= this.clock().getTime()) return null;
    return { userId: session.userId, username: session.username };
  }

  /** Ends one session (logout). Unknown tokens are ignored. */
  async revoke(appKey: string, token: string): Promise<void> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return;
    await this.store.deleteById(sessionScope(appKey), tokenHash(token));
  }

  /**
   * Ends every session of a user (token invalidation, account deletion, password change), except
   * the one of `keepToken` when given (the caller's own session on a password change).
   */
  async revokeAllOf(appKey: string, userId: string, keepToken?: string): Promise<void> {
    const filter = keepToken ? { userId, _id: { $ne: tokenHash(keepToken) } } : { userId };
    await this.store.deleteMany(sessionScope(appKey), filter);
  }

  /** Keeps the username cached in the user's sessions current after a rename. */
  async renameOwner(appKey: string, userId: string, username: string): Promise<void> {
    const scope = sessionScope(appKey);
    const sessions = await this.store.find(scope, { userId }, { fields: ['_id'] });
    await Promise.all(sessions.map((s) => this.store.setFields(scope, s._id, { username })));
  }

  private async ensureIndex(scope: CollectionScope): Promise<void> {
    if (this.indexed.has(scope.appKey)) return;
    await this.store.ensureIndex(scope, { field: 'userId' });
    this.indexed.add(scope.appKey);
  }
}

function sessionScope(appKey: string): CollectionScope {
  return { appKey, collection: SESSION_COLLECTION };
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
