/**
 * Session tokens: 32 random bytes handed to the client once, stored only as their sha256 in the
 * internal `_session` collection (a leaked database does not leak live tokens). The session
 * document carries the user's id and username, so resolving a token is one store round trip, and
 * none while the token is in the SessionCache. Every change here evicts what it affects from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CollectionScope, DocumentStore } from '../ports';
import type { SessionOwner } from './session';
import type { RoleRef } from '../access/principal';
import { isCachedSession, SessionCache, type CachedSession } from './session-cache';

export const SESSION_COLLECTION = '_session';
/** Sessions end after this long unless the user logs out first. */
export const DEFAULT_SESSION_TTL_SECONDS = 30 * 24 * 3600;
/** Longer "tokens" are never ours; refuse them before hashing. */
const MAX_TOKEN_LENGTH = 512;

export type { SessionOwner } from './session';

/** The groups and roles a session's owner holds, as the ACL needs them. */
export interface Membership {
  readonly groups: readonly string[];
  readonly roles: readonly RoleRef[];
}

export interface SessionStoreOptions {
  readonly clock?: () => Date;
  readonly ttlSeconds?: number;
  /** Resolved sessions kept in memory for a bounded time; none (every resolve reads the store) by default. */
  readonly cache?: SessionCache;
}

export class SessionStore {
  private readonly indexed = new Set<string>();
  private readonly clock: () => Date;
  private readonly ttlMs: number;
  readonly cache: SessionCache;

  constructor(
    private readonly store: DocumentStore,
    options: SessionStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS) * 1000;
    this.cache = options.cache ?? new SessionCache({ ttlMs: 0, maxEntries: 0 });
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

  /**
   * The owner of a live session with the owner's groups and roles (`membershipOf`, asked on a cache miss only),
   * or null for unknown, expired or revoked tokens. From the cache: no round trip; else one, plus
   * what `membershipOf` costs.
   */
  async resolve(
    appKey: string,
    token: string,
    membershipOf: (owner: SessionOwner) => Promise<Membership>,
  ): Promise<CachedSession | null> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const hash = tokenHash(token);
    const cached = this.cache.lookup(appKey, hash);
    if (isCachedSession(cached)) return cached;
    const [session] = await this.store.findByIds(sessionScope(appKey), [hash]);
    if (!session || typeof session.userId !== 'string' || typeof session.username !== 'string') return null;
    const sessionExpiresAt = typeof session.expiresAt === 'string' ? Date.parse(session.expiresAt) : NaN;
    if (!(sessionExpiresAt > this.clock().getTime())) return null;
    const owner = { userId: session.userId, username: session.username };
    const membership = await membershipOf(owner);
    const resolved: CachedSession = {
      ...owner,
      groups: Object.freeze([...membership.groups]),
      roles: Object.freeze(membership.roles.map((role) => Object.freeze({ ...role }))),
      sessionExpiresAt,
    };
    if (cached) this.cache.store(appKey, hash, resolved, cached);
    return resolved;
  }

  /** Ends one session (logout). Unknown tokens are ignored. */
  async revoke(appKey: string, token: string): Promise<void> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return;
    const hash = tokenHash(token);
    // Evicted once the store has forgotten it too: a lookup racing the delete cannot re-cache it.
    try {
      await this.store.deleteById(sessionScope(appKey), hash);
    } finally {
      this.cache.evictToken(appKey, hash);
    }
  }

  /**
   * Ends every session of a user (token invalidation, account deletion, password change), except
   * the one of `keepToken` when given (the caller's own session on a password change).
   */
  async revokeAllOf(appKey: string, userId: string, keepToken?: string): Promise<void> {
    const filter = keepToken ? { userId, _id: { $ne: tokenHash(keepToken) } } : { userId };
    try {
      await this.store.deleteMany(sessionScope(appKey), filter);
    } finally {
      this.cache.evictUser(appKey, userId);
    }
  }

  /** Keeps the username cached in the user's sessions current after a rename. */
  async renameOwner(appKey: string, userId: string, username: string): Promise<void> {
    const scope = sessionScope(appKey);
    const sessions = await this.store.find(scope, { userId }, { fields: ['_id'] });
    try {
      await Promise.all(sessions.map((s) => this.store.setFields(scope, s._id, { username })));
    } finally {
      this.cache.evictUser(appKey, userId);
    }
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
