/**
 * What a session token resolves to (its owner and the owner's groups and roles), kept in this process's
 * memory for a short time so that a request with a known token costs no store round trip.
 *
 * Staleness is bounded two ways: every entry is dropped `ttlMs` after it was read from the store
 * (what another instance's logout, password change or group edit can miss), and every change made
 * through this instance evicts the entries it affects at once (see UsersService, GroupsService,
 * CollectionRemover). A lookup that started before an eviction never stores its (possibly stale)
 * answer, so an eviction cannot be undone by a store read that was already in flight.
 */
import type { SessionOwner } from './session';
import type { RoleRef } from '../access/principal';
import { systemClock, type Clock } from '../../internal/clock';

export interface SessionCacheOptions {
  /** How long an entry may be served after it was read from the store; 0 turns the cache off. */
  readonly ttlMs: number;
  /** Most entries kept; the least recently used goes first. */
  readonly maxEntries: number;
  /** Decides when an entry is stale; the wall clock by default. */
  readonly clock?: Clock;
  /** Told about every lookup (for the hit/miss metric); not called when the cache is off. */
  readonly observe?: (outcome: 'hit' | 'miss') => void;
}

export const DEFAULT_SESSION_CACHE: Pick<SessionCacheOptions, 'ttlMs' | 'maxEntries'> = {
  ttlMs: 5000,
  maxEntries: 10_000,
};

/** A live session as the auth middleware needs it. */
export interface CachedSession extends SessionOwner {
  readonly groups: readonly string[];
  /** The roles the owner holds (besides all-users). */
  readonly roles: readonly RoleRef[];
  /** When the session itself ends (epoch ms): never served past it, whatever the TTL. */
  readonly sessionExpiresAt: number;
}

interface Entry {
  readonly appKey: string;
  readonly session: CachedSession;
  readonly staleAt: number;
}

/** A ticket from `lookup` on a miss: `store` only takes the answer if nothing was evicted since. */
export interface MissTicket {
  readonly epoch: number;
}

/** One eviction, as passed between the worker processes of a cluster. */
export type SessionEviction =
  | { readonly kind: 'token'; readonly appKey: string; readonly tokenHash: string }
  | { readonly kind: 'user'; readonly appKey: string; readonly userId: string }
  | { readonly kind: 'app'; readonly appKey: string };

export class SessionCache {
  /** Told of every eviction made here (a cluster worker passes them on to its peers). */
  private relay: ((eviction: SessionEviction) => void) | undefined;
  private readonly entries = new Map<string, Entry>();
  /** Keys of each user's cached sessions (`appKey \0 userId` -> keys), so a user's eviction is direct. */
  private readonly byUser = new Map<string, Set<string>>();
  /** Grows on every eviction: a miss that saw an older epoch does not store its answer. */
  private epoch = 0;
  private readonly clock: Clock;

  constructor(private readonly options: SessionCacheOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get enabled(): boolean {
    return this.options.ttlMs > 0 && this.options.maxEntries > 0;
  }

  /** How many entries are held (tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached session of this token hash, or a miss ticket to pass to `store` with what the
   * store said. `null` when the cache is off.
   */
  lookup(appKey: string, tokenHash: string): CachedSession | MissTicket | null {
    if (!this.enabled) return null;
    const key = entryKey(appKey, tokenHash);
    const entry = this.entries.get(key);
    const now = this.clock().getTime();
    if (entry && entry.staleAt > now && entry.session.sessionExpiresAt > now) {
      // Map order is insertion order: re-inserting makes this the most recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.options.observe?.('hit');
      return entry.session;
    }
    if (entry) this.remove(key);
    this.options.observe?.('miss');
    return { epoch: this.epoch };
  }

  /** Keeps a session read from the store, unless an eviction happened since its lookup. */
  store(appKey: string, tokenHash: string, session: CachedSession, ticket: MissTicket): void {
    if (!this.enabled || ticket.epoch !== this.epoch) return;
    const key = entryKey(appKey, tokenHash);
    this.remove(key);
    this.entries.set(key, { appKey, session, staleAt: this.clock().getTime() + this.options.ttlMs });
    const userKey = entryKey(appKey, session.userId);
    let keys = this.byUser.get(userKey);
    if (!keys) this.byUser.set(userKey, (keys = new Set()));
    keys.add(key);
    while (this.entries.size > this.options.maxEntries) this.remove(this.entries.keys().next().value as string);
  }

  /** Forgets one session (logout). */
  evictToken(appKey: string, tokenHash: string): void {
    this.evict({ kind: 'token', appKey, tokenHash });
  }

  /** Forgets every session of a user (password change, token invalidation, deletion, rename). */
  evictUser(appKey: string, userId: string): void {
    this.evict({ kind: 'user', appKey, userId });
  }

  /** Forgets every session of an app (a group changed: anyone's membership may have). */
  evictApp(appKey: string): void {
    this.evict({ kind: 'app', appKey });
  }

  /**
   * Passes every eviction made here on to `relay` from now on: a cluster's workers each hold a
   * cache, and a logout through one must end the session in all of them (server.ts).
   */
  relayEvictions(relay: (eviction: SessionEviction) => void): void {
    this.relay = relay;
  }

  /** Applies an eviction another worker made (not relayed again). Ignores a malformed one. */
  applyEviction(eviction: SessionEviction): void {
    this.evict(eviction, false);
  }

  private evict(eviction: SessionEviction, relay = true): void {
    this.epoch += 1;
    if (eviction.kind === 'token') this.remove(entryKey(eviction.appKey, eviction.tokenHash));
    else if (eviction.kind === 'user') {
      const keys = this.byUser.get(entryKey(eviction.appKey, eviction.userId));
      if (keys) for (const key of [...keys]) this.remove(key);
    } else if (eviction.kind === 'app') {
      for (const [key, entry] of this.entries) if (entry.appKey === eviction.appKey) this.remove(key);
    }
    if (relay) this.relay?.(eviction);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const userKey = entryKey(entry.appKey, entry.session.userId);
    const keys = this.byUser.get(userKey);
    keys?.delete(key);
    if (keys?.size === 0) this.byUser.delete(userKey);
  }
}

/** Narrows a lookup's answer to a hit. */
export function isCachedSession(found: CachedSession | MissTicket | null): found is CachedSession {
  return found !== null && 'userId' in found;
}

function entryKey(appKey: string, id: string): string {
  return `${appKey}\u0000${id}`;
}
