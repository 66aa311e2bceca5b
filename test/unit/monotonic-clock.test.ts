/**
 * The clock of `_kmd.lmt` and X-Kinvey-Request-Start on an injected base clock: a write stamped
 * before a request start is strictly earlier, one stamped after is at or after it, a write still
 * in flight holds request starts back, and neither goes backwards when the base clock does.
 */
import { MAX_LEAD_MS, MonotonicClock } from '../../src/domain/appdata/monotonic-clock';

const T = Date.parse('2026-01-01T00:00:00.000Z');

function clockAt(start = T) {
  let now = start;
  return { clock: new MonotonicClock(() => new Date(now)), set: (ms: number) => void (now = ms) };
}

/** A write whose store call waits until `finish` is called. */
function pendingWrite(clock: MonotonicClock) {
  let finish!: () => void;
  let stamp!: Date;
  const done = clock.write((at) => {
    stamp = at;
    return new Promise<void>((resolve) => (finish = resolve));
  });
  return { stamp, done, finish };
}

describe('MonotonicClock', () => {
  test('a write stamped before a request start in the same millisecond is earlier than it', () => {
    const { clock } = clockAt();
    const written = clock.stampWrite();
    const start = clock.requestStart();
    expect(written.getTime()).toBe(T);
    expect(start.getTime()).toBeGreaterThan(written.getTime());
  });

  test('a write stamped after a request start is at or after it, even in the same millisecond', () => {
    const { clock } = clockAt();
    clock.stampWrite();
    const start = clock.requestStart();
    expect(clock.stampWrite().getTime()).toBeGreaterThanOrEqual(start.getTime());
    expect(clock.requestStart().getTime()).toBeGreaterThan(start.getTime());
  });

  test('both follow the base clock and never go backwards when it does', () => {
    const { clock, set } = clockAt();
    set(T + 5_000);
    expect(clock.requestStart().getTime()).toBe(T + 5_000);
    expect(clock.stampWrite().getTime()).toBe(T + 5_000);
    set(T);
    expect(clock.stampWrite().getTime()).toBe(T + 5_000);
    expect(clock.requestStart().getTime()).toBe(T + 5_000);
    set(T + 6_000);
    expect(clock.requestStart().getTime()).toBe(T + 6_000);
  });

  test('writes and reads alternating faster than the milliseconds pass push the clock at most MAX_LEAD_MS ahead, never back', () => {
    const { clock } = clockAt();
    let previousStart = -Infinity;
    for (let i = 0; i < 3 * MAX_LEAD_MS; i++) {
      const stamp = clock.stampWrite().getTime();
      const start = clock.requestStart().getTime();
      expect(stamp).toBeGreaterThanOrEqual(previousStart);
      expect(start).toBeGreaterThanOrEqual(stamp);
      expect(start).toBeLessThanOrEqual(T + MAX_LEAD_MS);
      // Exact (the start after the write) until the lead is used up.
      if (i < MAX_LEAD_MS) expect(start).toBe(stamp + 1);
      previousStart = start;
    }
  });

  test('a write in flight holds request starts at its stamp until it is stored; then they move on', async () => {
    const { clock, set } = clockAt();
    const slow = pendingWrite(clock);
    set(T + 10);
    expect(clock.requestStart().getTime()).toBe(slow.stamp.getTime());
    // A later write finishing first does not release the earlier one's hold.
    await clock.write(async () => undefined);
    expect(clock.requestStart().getTime()).toBe(slow.stamp.getTime());
    slow.finish();
    await slow.done;
    expect(clock.requestStart().getTime()).toBe(T + 11);
  });

  test('a failed write releases its hold', async () => {
    const { clock, set } = clockAt();
    await expect(
      clock.write(async () => {
        throw new Error('store down');
      }),
    ).rejects.toThrow('store down');
    set(T + 10);
    expect(clock.requestStart().getTime()).toBe(T + 10);
  });
});
