/**
 * How often account mails may be asked for, in this process's memory (policy decided for kinbase;
 * Kinvey documents none): per account (a user, or an e-mail address for forgotten usernames) at
 * most `perAccount` mails of one kind per window, and per client address at most `perClient`
 * initiations of any kind per window. An initiation over a limit is answered like any other (204)
 * and sends nothing: an answer that changed would tell which accounts exist. Memory is bounded:
 * each table keeps at most `maxEntries` keys and forgets the least recently touched first.
 */
import { clientKey } from './login-throttle';

export interface InitiationLimits {
  readonly windowSeconds: number;
  readonly perAccount: number;
  readonly perClient: number;
  readonly maxEntries: number;
}

export const INITIATION_LIMITS: InitiationLimits = {
  windowSeconds: 900,
  perAccount: 3,
  perClient: 20,
  maxEntries: 10_000,
};

interface Window {
  start: number;
  count: number;
}

class WindowTable {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Counts one use of `key` now; false when the key's window already holds `limit` uses. */
  take(key: string, now: number): boolean {
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) window = { start: now, count: 0 };
    this.windows.delete(key);
    this.windows.set(key, window); // most recently touched last
    if (this.windows.size > this.maxEntries) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
    if (window.count >= this.limit) return false;
    window.count += 1;
    return true;
  }
}

export class InitiationThrottle {
  private readonly accounts: WindowTable;
  private readonly clients: WindowTable;

  constructor(
    limits: InitiationLimits = INITIATION_LIMITS,
    private readonly clock: () => Date = () => new Date(),
  ) {
    const windowMs = limits.windowSeconds * 1000;
    this.accounts = new WindowTable(limits.perAccount, windowMs, limits.maxEntries);
    this.clients = new WindowTable(limits.perClient, windowMs, limits.maxEntries);
  }

  /** Counts an initiation from `client` (a remote address; IPv6 per /64); false when the client is over its limit. */
  admitClient(client: string | undefined): boolean {
    return client === undefined || this.clients.take(clientKey(client), this.clock().getTime());
  }

  /** Counts a mail to an account (`appKey`, kind and user id or address); false when it is over its limit. */
  admitAccount(key: string): boolean {
    return this.accounts.take(key, this.clock().getTime());
  }
}
