/**
 * Failed-login rate limiting, counted in the document store's shared counters (SharedCounters in
 * ports.ts): every instance on one MongoDB, or every process on one embedded SQLite file, counts
 * into the same windows, so N instances allow no more guesses than one.
 *
 * Policy (decided for kinbase; Kinvey documents none):
 * - Attempts are admitted one by one and counted as failures before their password is checked,
 *   so 32 concurrent guesses cannot all pass the check before the first one is counted; a right
 *   password (or one never checked) takes its count back. Admission adds the failure first and
 *   counts after: an attempt whose count passes the limit takes its failure back and is refused,
 *   so however many instances race, at most the limit is admitted per window.
 * - Failures are counted in a sliding window of `windowSeconds` per username (per app) and per
 *   client address (per app): each failure is one event in the store. Once a key has its limit of
 *   failures within the last window, attempts for it are refused until the oldest of them leaves
 *   the window: 429 TooManyLoginAttempts with Retry-After, before any hashing, whether the
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
 * - Memory is bounded: nothing is held in this process. The store keeps one small record per
 *   failure (keys stored as hashes), removed by a cleanup query once it has left the window; a
 *   refused attempt adds none, so a key holds at most its limit (plus racing attempts) at a time.
 * - A store that is down fails the attempt with 503 (the login needs the store anyway); nothing is
 *   admitted without being counted.
 */
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { SharedCounters } from '../ports';

export interface LoginLimits {
  readonly windowSeconds: number;
  readonly failuresPerUsername: number;
  readonly failuresPerClient: number;
  readonly knownClientDays: number;
}

export const LOGIN_LIMITS: LoginLimits = {
  windowSeconds: 300,
  failuresPerUsername: 10,
  failuresPerClient: 30,
  knownClientDays: 30,
};

/** One login attempt: an app's username, from a client address when the caller knows it. */
export interface LoginAttempt {
  readonly appKey: string;
  readonly username: string;
  readonly client?: string;
}

/** The counters one attempt touches, and the limit each answers to. */
interface Keys {
  readonly username: string;
  readonly client: string | undefined;
  /** The known client's own lock for the username, when the client is known for it. */
  readonly knownFailures: string | undefined;
}

const DAY_MS = 86_400_000;
/** A limit this high is no limit (MFA codes count per user only): nothing is counted or asked for it. */
const UNLIMITED = 1_000_000;

export class LoginThrottle {
  readonly limits: LoginLimits;
  private readonly clock: () => Date;
  private readonly counters: SharedCounters;
  private readonly namespace: string;

  /**
   * `counters`: where failures are counted (the document store's shared counters); `namespace`
   * keeps two throttles on one store apart (logins and MFA codes).
   */
  constructor(options: {
    counters: SharedCounters;
    namespace?: string;
    clock?: () => Date;
    limits?: Partial<LoginLimits>;
  }) {
    this.clock = options.clock ?? (() => new Date());
    this.limits = { ...LOGIN_LIMITS, ...options.limits };
    this.counters = options.counters;
    this.namespace = options.namespace ?? 'login';
  }

  /** Seconds until this attempt may be made, or 0 when it may be made now. Does no hashing, counts nothing. */
  async retryAfterSeconds(attempt: LoginAttempt): Promise<number> {
    const now = this.clock().getTime();
    const keys = await this.keysOf(attempt, now);
    const waits = await Promise.all([
      this.waitOn(attempt.appKey, keys.knownFailures ?? keys.username, this.limits.failuresPerUsername, now),
      keys.client === undefined ? 0 : this.waitOn(attempt.appKey, keys.client, this.limits.failuresPerClient, now),
    ]);
    return Math.max(...waits);
  }

  /**
   * Admits an attempt, counting it as a failure against the username and the client until
   * `succeeded` or `withdraw` says otherwise; or, when a limit is reached, refuses it without
   * counting and returns the seconds to wait (0 means admitted).
   */
  async admit(attempt: LoginAttempt): Promise<number> {
    // A read first: a flood of refused attempts costs reads only, never writes.
    const wait = await this.retryAfterSeconds(attempt);
    if (wait > 0) return wait;
    const now = this.clock().getTime();
    const keys = await this.keysOf(attempt, now);
    const { appKey } = attempt;
    const expiresAt = now + this.windowMs;
    const counted = this.counted(keys);
    await Promise.all(counted.map((key) => this.counters.add(appKey, key, now, expiresAt)));
    // Counted after adding: every failure added before this one is seen, whichever instance added
    // it, so past the limit only the attempts whose count stayed within it are admitted.
    const limited: Array<[string, number]> = [[keys.knownFailures ?? keys.username, this.limits.failuresPerUsername]];
    if (keys.client !== undefined) limited.push([keys.client, this.limits.failuresPerClient]);
    const over = await Promise.all(
      limited.map(
        async ([key, limit]) =>
          limit < UNLIMITED && (await this.counters.newest(appKey, key, now - this.windowMs, limit + 1)).length > limit,
      ),
    );
    if (!over.includes(true)) return 0;
    await Promise.all(counted.map((key) => this.counters.removeOne(appKey, key, now - this.windowMs)));
    return Math.max(1, await this.retryAfterSeconds(attempt));
  }

  /** An admitted attempt had the right password: clears the username's count, takes back the client's, and remembers the client as known for the user. */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    const now = this.clock().getTime();
    const { appKey } = attempt;
    await this.counters.clear(appKey, this.key('username', attempt));
    if (attempt.client === undefined) return;
    const client = clientKey(attempt.client);
    await Promise.all([
      this.counters.removeOne(appKey, this.clientCounter(client), now - this.windowMs),
      this.counters.clear(appKey, this.key('known-failures', attempt, client)),
      this.counters.mark(appKey, this.key('known', attempt, client), now, now + this.limits.knownClientDays * DAY_MS),
    ]);
  }

  /** An admitted attempt whose password was never checked (the server was busy): takes its counts back. */
  async withdraw(attempt: LoginAttempt): Promise<void> {
    const now = this.clock().getTime();
    const keys = await this.keysOf(attempt, now);
    await Promise.all(
      this.counted(keys).map((key) => this.counters.removeOne(attempt.appKey, key, now - this.windowMs)),
    );
  }

  private get windowMs(): number {
    return this.limits.windowSeconds * 1000;
  }

  /** Seconds until the key has fewer than `limit` failures in the window ending now (0: it has). */
  private async waitOn(appKey: string, key: string, limit: number, now: number): Promise<number> {
    if (limit >= UNLIMITED) return 0;
    const times = await this.counters.newest(appKey, key, now - this.windowMs, limit);
    if (times.length < limit) return 0;
    // The lock ends when the oldest of the newest `limit` failures leaves the window.
    return Math.max(1, Math.ceil(((times[limit - 1] ?? now) + this.windowMs - now) / 1000));
  }

  /** The keys an attempt is counted against. */
  private counted(keys: Keys): string[] {
    return [keys.username, keys.client, keys.knownFailures].filter((k): k is string => k !== undefined);
  }

  private async keysOf(attempt: LoginAttempt, now: number): Promise<Keys> {
    const username = this.key('username', attempt);
    if (attempt.client === undefined) return { username, client: undefined, knownFailures: undefined };
    const client = clientKey(attempt.client);
    const last = await this.counters.markOf(attempt.appKey, this.key('known', attempt, client));
    const known = last !== undefined && now - last < this.limits.knownClientDays * DAY_MS;
    return {
      username,
      client: this.clientCounter(client),
      knownFailures: known ? this.key('known-failures', attempt, client) : undefined,
    };
  }

  private clientCounter(client: string): string {
    return `${this.namespace}\u0000client\u0000${client}`;
  }

  private key(kind: string, attempt: LoginAttempt, client?: string): string {
    return `${this.namespace}\u0000${kind}\u0000${usernameKey(attempt)}${client === undefined ? '' : `\u0000${client}`}`;
  }
}

/** Long usernames are keyed by their hash, so a key's memory is bounded whatever the body holds. */
function usernameKey(attempt: LoginAttempt): string {
  const name =
    attempt.username.length <= 128 ? attempt.username : createHash('sha256').update(attempt.username).digest('hex');
  return name;
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
