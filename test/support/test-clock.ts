/**
 * A clock that moves only when a test says so: pass `clock.now` wherever a component takes a
 * `Clock` (startTestApp's `clock`, the object stores, the caches), then `advance` past an expiry
 * instead of sleeping through it.
 */
import type { Clock } from '../../src/internal/clock';

export class TestClock {
  private ms: number;

  /** Starts at `start` (epoch ms), by default the wall clock's now, so URLs and records look current. */
  constructor(start: number = Date.now()) {
    this.ms = start;
  }

  /** The current instant of this clock, as a fresh Date (a `Clock`). */
  readonly now: Clock = () => new Date(this.ms);

  /** Moves the clock `ms` milliseconds on. */
  advance(ms: number): void {
    this.ms += ms;
  }

  /** Moves the clock to `ms` (epoch ms). */
  set(ms: number): void {
    this.ms = ms;
  }

  /** `seconds` from this clock's now, as a Date (for expiries). */
  inSeconds(seconds: number): Date {
    return new Date(this.ms + seconds * 1000);
  }
}
