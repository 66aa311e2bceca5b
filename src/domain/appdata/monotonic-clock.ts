/**
 * The one clock, per document store (src/runtime.ts builds one), that stamps every `_kmd.lmt` and
 * tombstone `deletedAt` and gives every request its X-Kinvey-Request-Start. Delta sets compare
 * the two with `>=` (`_kmd.lmt >= since`), so the clock makes that comparison exact:
 *
 * - a write acknowledged before a read started has a stamp strictly earlier than the read's start
 *   (it is not reported again by the delta set that starts from that read);
 * - a write stamped after a read started has a stamp at or after the read's start (it is reported);
 * - a write stamped but not yet stored when a read started (in flight) holds the read's start at
 *   or before its stamp, so the delta set from that read reports it even though the read's own
 *   query ran before it was stored. A duplicate is better than a loss: an acknowledged write
 *   stamped in the same millisecond as a write still in flight is reported once more.
 *
 * Both operations follow the wall clock (or the injected one) and never go backwards, whatever
 * it does; at millisecond resolution, as `_kmd.lmt` is on the wire. A request start taken in the
 * millisecond of a write moves the clock one millisecond on, so more such starts per second than
 * milliseconds would run it ever further ahead of the wall clock: it runs at most MAX_LEAD_MS
 * ahead, and there request starts stop moving it (a write acknowledged in that millisecond is then
 * reported once more, never lost). Exact within one process: docs/delta-sets.md says what holds
 * across several instances.
 */
import { systemClock, type Clock } from '../../internal/clock';

/** How far ahead of the wall clock request starts may push the clock. */
export const MAX_LEAD_MS = 100;

export class MonotonicClock {
  private lastStamp = -Infinity;
  private lastStart = -Infinity;
  /** Stamps of writes in flight, in the order they were stamped (so also in stamp order). */
  private readonly inFlight = new Map<number, number>();
  private nextToken = 0;

  constructor(private readonly now: Clock = systemClock) {}

  /**
   * A stamp for a write (`_kmd.lmt`): at or after every request start and write stamp issued so
   * far, and the current time. Callers whose writes a delta set can report use `write` instead.
   */
  stampWrite(): Date {
    const ms = Math.max(this.now().getTime(), this.lastStart, this.lastStamp);
    this.lastStamp = ms;
    return new Date(ms);
  }

  /**
   * Runs `store` with a fresh write stamp, counting the write as in flight until `store` settles:
   * meanwhile no request start passes the stamp. Resolves or rejects as `store` does.
   */
  async write<T>(store: (stamp: Date) => Promise<T>): Promise<T> {
    const stamp = this.stampWrite();
    const token = this.nextToken++;
    this.inFlight.set(token, stamp.getTime());
    try {
      return await store(stamp);
    } finally {
      this.inFlight.delete(token);
    }
  }

  /**
   * A request's start (X-Kinvey-Request-Start): strictly after every write stamp issued so far and
   * at or after the current time, except that it never passes the stamp of a write still in
   * flight, nor the current time plus MAX_LEAD_MS. Never earlier than an earlier request start: a
   * write in flight now was either stamped after that start or already held it back.
   */
  requestStart(): Date {
    const now = this.now().getTime();
    let ms = Math.max(now, this.lastStart, Math.min(this.lastStamp + 1, now + MAX_LEAD_MS));
    const oldestInFlight = this.inFlight.values().next();
    if (!oldestInFlight.done) ms = Math.min(ms, oldestInFlight.value);
    this.lastStart = Math.max(this.lastStart, ms);
    return new Date(this.lastStart);
  }
}
