/**
 * Failed-login rate limiting, in this process's memory (each process of a scaled-out deployment
 * counts on its own; put a shared limiter in front for a global one).
 *
 * Policy (decided for kinbase; Kinvey documents none):
 * - Attempts are admitted one by one and counted as failures before their password is checked,
 *   so 32 concurrent guesses cannot all pass the check before the first one is counted; a right
 *   password (or one never checked) takes its count back.
 * - Failures are counted in fixed windows of `windowSeconds` per username (per app) and per
 *   client address. Once a key reaches its limit in a window, attempts for it are refused until
 *   that window ends: 429 TooManyLoginAttempts with Retry-After, before any hashing, whether the
 *   password would have been right or not (else the answer would still tell). Refused attempts
 *   are not counted, so an attacker cannot extend a lockout past its window.
 * - A successful login clears the username's count (the password is known to whoever sent it) but
 *   never the client's, or an attacker could reset its own count by logging into its own account.
 * - A client that logged in successfully as a user within `knownClientDays` is not held by that
 *   username's lock: an attacker who keeps a victim's username locked from elsewhere does not lock
 *   the victim out of the devices they already use. Such a known client has a lock of its own for
 *   that username instead, with the same limit (`failuresPerUsername`, counted per username and
 *   client). So whoever shares the victim's address (a NAT, an office) gets no more guesses for the
 *   victim than anyone else does (10 per window, not the client limit of 30); only the victim's own
 *   clients escape a lock made by others. An address is only known after a right password for that
 *   username, so an attacker cannot make its own address known for a victim.
 * - Clients are remote addresses as Express sees them (`req.ip`, trust proxy off by default);
 *   IPv6 addresses count per /64, the block one subscriber usually holds. Basic user credentials
 *   count exactly like logins (the login pipeline passes the client address).
 * - Memory is bounded: each table keeps at most `maxEntries` keys and forgets the least recently
 *   touched first. Evicting a lock this way takes `maxEntries` other failing keys, which the
 *   client limit makes expensive.
 */
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';

export interface LoginLimits {
  readonly windowSeconds: number;
  readonly failuresPerUsername: number;
  readonly failuresPerClient: number;
  readonly knownClientDays: number;
  readonly maxEntries: number;
}

export const LOGIN_LIMITS: LoginLimits = {
  windowSeconds: 300,
  failuresPerUsername: 10,
  failuresPerClient: 30,
  knownClientDays: 30,
  maxEntries: 10_000,
};

/** One login attempt: an app's username, from a client address when the caller knows it. */
export interface LoginAttempt {
  readonly appKey: string;
  readonly username: string;
  readonly client?: string;
}

interface Window {
  start: number;
  failures: number;
}

/** A Map that holds at most `cap` keys, forgetting the least recently set first. */
class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly cap: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value as string);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

export class LoginThrottle {
  readonly limits: LoginLimits;
  private readonly clock: () => Date;
  private readonly usernames: BoundedMap<Window>;
  private readonly clients: BoundedMap<Window>;
  private readonly knownClients: BoundedMap<number>;
  /** Failures per username and known client: a known client's own lock for that username. */
  private readonly knownFailures: BoundedMap<Window>;

  constructor(options: { clock?: () => Date; limits?: Partial<LoginLimits> } = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.limits = { ...LOGIN_LIMITS, ...options.limits };
    this.usernames = new BoundedMap(this.limits.maxEntries);
    this.clients = new BoundedMap(this.limits.maxEntries);
    this.knownClients = new BoundedMap(this.limits.maxEntries);
    this.knownFailures = new BoundedMap(this.limits.maxEntries);
  }

  /** Seconds until this attempt may be made, or 0 when it may be made now. Does no hashing. */
  retryAfterSeconds(attempt: LoginAttempt): number {
    const now = this.clock().getTime();
    const client = attempt.client === undefined ? undefined : clientKey(attempt.client);
    const waits = [client === undefined ? 0 : this.wait(this.clients.get(client), this.limits.failuresPerClient, now)];
    // A known client answers to its own lock for the username instead of the username's (shared) one.
    const usernameWindow =
      client !== undefined && this.isKnown(attempt, client, now)
        ? this.knownFailures.get(knownKey(attempt, client))
        : this.usernames.get(usernameKey(attempt));
    waits.push(this.wait(usernameWindow, this.limits.failuresPerUsername, now));
    return Math.max(...waits);
  }

  /**
   * Admits an attempt, counting it as a failure against the username and the client until
   * `succeeded` or `withdraw` says otherwise; or, when a limit is reached, refuses it without
   * counting and returns the seconds to wait (0 means admitted).
   */
  admit(attempt: LoginAttempt): number {
    const wait = this.retryAfterSeconds(attempt);
    if (wait > 0) return wait;
    const now = this.clock().getTime();
    this.count(this.usernames, usernameKey(attempt), now, 1);
    if (attempt.client !== undefined) {
      const client = clientKey(attempt.client);
      this.count(this.clients, client, now, 1);
      if (this.isKnown(attempt, client, now)) this.count(this.knownFailures, knownKey(attempt, client), now, 1);
    }
    return 0;
  }

  /** An admitted attempt had the right password: clears the username's count, takes back the client's, and remembers the client as known for the user. */
  succeeded(attempt: LoginAttempt): void {
    this.usernames.delete(usernameKey(attempt));
    if (attempt.client === undefined) return;
    const client = clientKey(attempt.client);
    this.count(this.clients, client, this.clock().getTime(), -1);
    this.knownFailures.delete(knownKey(attempt, client));
    this.knownClients.set(knownKey(attempt, client), this.clock().getTime());
  }

  /** An admitted attempt whose password was never checked (the server was busy): takes its counts back. */
  withdraw(attempt: LoginAttempt): void {
    const now = this.clock().getTime();
    this.count(this.usernames, usernameKey(attempt), now, -1);
    if (attempt.client === undefined) return;
    const client = clientKey(attempt.client);
    this.count(this.clients, client, now, -1);
    this.count(this.knownFailures, knownKey(attempt, client), now, -1);
  }

  /** Keys held per table (bounded by `maxEntries`). */
  sizes(): { usernames: number; clients: number; knownClients: number; knownFailures: number } {
    return {
      usernames: this.usernames.size,
      clients: this.clients.size,
      knownClients: this.knownClients.size,
      knownFailures: this.knownFailures.size,
    };
  }

  private wait(window: Window | undefined, limit: number, now: number): number {
    const end = window ? window.start + this.limits.windowSeconds * 1000 : 0;
    if (!window || now >= end || window.failures < limit) return 0;
    return Math.max(1, Math.ceil((end - now) / 1000));
  }

  private count(table: BoundedMap<Window>, key: string, now: number, delta: 1 | -1): void {
    const window = table.get(key);
    const fresh = !window || now >= window.start + this.limits.windowSeconds * 1000;
    if (delta < 0) {
      // Taking back a count from a window that has since ended (or was evicted) has nothing to undo.
      if (!fresh && window.failures > 0) window.failures--;
      return;
    }
    table.set(key, fresh ? { start: now, failures: 1 } : { start: window.start, failures: window.failures + 1 });
  }

  private isKnown(attempt: LoginAttempt, client: string, now: number): boolean {
    const last = this.knownClients.get(knownKey(attempt, client));
    return last !== undefined && now - last < this.limits.knownClientDays * 86_400_000;
  }
}

/** Long usernames are keyed by their hash, so a key's memory is bounded whatever the body holds. */
function usernameKey(attempt: LoginAttempt): string {
  const name =
    attempt.username.length <= 128 ? attempt.username : createHash('sha256').update(attempt.username).digest('hex');
  return `${attempt.appKey}\u0000${name}`;
}

function knownKey(attempt: LoginAttempt, client: string): string {
  return `${usernameKey(attempt)}\u0000${client}`;
}

/** An IPv4 address as is (also when IPv4-mapped), an IPv6 address as its /64 prefix. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address.slice(0, 64);
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::')
    ? [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
    : headParts;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
