/**
 * The failed-login throttle's policy on an injected clock: locks last until their window ends and
 * no longer, a success clears the username but not the client, a client known for a username has
 * a lock of its own at the username limit, instances sharing counters share the limit, and an IPv6 attacker cannot dodge
 * the client limit by rotating addresses inside its /64.
 */
import { LoginThrottle, clientKey, type LoginAttempt } from '../../src/domain/users/login-throttle';
import { MemorySharedState } from '../../src/domain/memory-shared-state';

function throttleAt(start = Date.parse('2026-01-01T00:00:00Z'), limits = {}) {
  let now = start;
  const clock = () => new Date(now);
  const throttle = new LoginThrottle({
    counters: new MemorySharedState({ clock }),
    clock,
    limits: { windowSeconds: 60, failuresPerUsername: 3, failuresPerClient: 5, ...limits },
  });
  return { throttle, advance: (seconds: number) => void (now += seconds * 1000) };
}

/** An attempt that is admitted and turns out to have the right password. */
async function succeed(throttle: LoginThrottle, attempt: LoginAttempt): Promise<void> {
  expect(await throttle.admit(attempt)).toBe(0);
  await throttle.succeeded(attempt);
}

describe('LoginThrottle', () => {
  test('a username locked by failures is free again when its window ends, not later', async () => {
    const { throttle, advance } = throttleAt();
    const attempt = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    for (let i = 0; i < 3; i++) {
      expect(await throttle.admit(attempt)).toBe(0);
      advance(10);
    }
    expect(await throttle.retryAfterSeconds(attempt)).toBe(30);
    expect(await throttle.retryAfterSeconds({ ...attempt, client: '10.0.0.2' })).toBe(30);
    advance(29);
    expect(await throttle.retryAfterSeconds(attempt)).toBe(1);
    advance(1);
    expect(await throttle.retryAfterSeconds(attempt)).toBe(0);
  });

  test('usernames are counted per app', async () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 3; i++)
      expect(await throttle.admit({ appKey: 'kid_a', username: 'u', client: '10.0.0.1' })).toBe(0);
    expect(await throttle.retryAfterSeconds({ appKey: 'kid_a', username: 'u' })).toBeGreaterThan(0);
    expect(await throttle.retryAfterSeconds({ appKey: 'kid_b', username: 'u' })).toBe(0);
  });

  test("logging into one's own account does not reset a client's count of failures elsewhere", async () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 5; i++) {
      await succeed(throttle, { appKey: 'kid', username: 'attacker', client: '10.0.0.9' });
      expect(await throttle.admit({ appKey: 'kid', username: `victim${i}`, client: '10.0.0.9' })).toBe(0);
    }
    expect(
      await throttle.retryAfterSeconds({ appKey: 'kid', username: 'attacker', client: '10.0.0.9' }),
    ).toBeGreaterThan(0);
  });

  test("a success clears the username's count, and its client stays welcome while others are locked out", async () => {
    const { throttle } = throttleAt();
    const owner = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    expect(await throttle.admit(owner)).toBe(0);
    expect(await throttle.admit(owner)).toBe(0);
    await succeed(throttle, owner);
    expect(await throttle.admit(owner)).toBe(0);
    expect(await throttle.admit(owner)).toBe(0);
    expect(await throttle.retryAfterSeconds(owner)).toBe(0);
    // The attacker's third failure reaches the username's limit.
    expect(await throttle.admit({ ...owner, client: '192.0.2.7' })).toBe(0);
    expect(await throttle.retryAfterSeconds({ ...owner, client: '192.0.2.7' })).toBeGreaterThan(0);
    expect(await throttle.retryAfterSeconds(owner)).toBe(0);
    // Without a client address (Basic credentials) the username lock holds.
    expect(await throttle.retryAfterSeconds({ appKey: 'kid', username: 'victim' })).toBeGreaterThan(0);
  });

  test("guessing from a victim's known address (a shared NAT) gets the username limit, not the client limit", async () => {
    const { throttle, advance } = throttleAt(undefined, { failuresPerUsername: 3, failuresPerClient: 10 });
    const victim = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    await succeed(throttle, victim);
    // Someone else behind 10.0.0.1 guesses: the known address has a lock of its own at 3.
    for (let i = 0; i < 3; i++) expect(await throttle.admit(victim)).toBe(0);
    expect(await throttle.admit(victim)).toBeGreaterThan(0);
    // The window ends; the lock does too.
    advance(60);
    expect(await throttle.admit(victim)).toBe(0);
  });

  test("a known client's own failures do not lock the username for the victim's other known clients", async () => {
    const { throttle } = throttleAt();
    const office = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    const home = { ...office, client: '10.0.0.2' };
    await succeed(throttle, office);
    await succeed(throttle, home);
    for (let i = 0; i < 3; i++) expect(await throttle.admit(office)).toBe(0);
    expect(await throttle.retryAfterSeconds(office)).toBeGreaterThan(0);
    expect(await throttle.retryAfterSeconds(home)).toBe(0);
    // ...but an unknown client is held by the username's lock, which those failures count toward.
    expect(await throttle.retryAfterSeconds({ ...office, client: '192.0.2.7' })).toBeGreaterThan(0);
  });

  test('concurrent guesses count from the moment they are admitted, before any is checked', async () => {
    const { throttle } = throttleAt();
    const outcomes = await Promise.all(
      Array.from({ length: 32 }, () => throttle.admit({ appKey: 'kid', username: 'victim', client: '10.0.0.1' })),
    );
    // At most the limit: attempts that all count at once may all be refused, never all admitted.
    expect(outcomes.filter((wait) => wait === 0).length).toBeLessThanOrEqual(3);
    // Refused attempts took their failures back: the next ones are counted from there.
    expect(await throttle.admit({ appKey: 'kid', username: 'victim', client: '10.0.0.1' })).toBe(0);
  });

  test('an attempt never checked (server busy) takes its count back', async () => {
    const { throttle } = throttleAt();
    const attempt = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    for (let i = 0; i < 10; i++) {
      expect(await throttle.admit(attempt)).toBe(0);
      await throttle.withdraw(attempt);
    }
  });

  test('two throttles on one set of counters (two instances) admit no more than the limit between them', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = () => new Date(now);
    const counters = new MemorySharedState({ clock });
    const limits = { windowSeconds: 60, failuresPerUsername: 3, failuresPerClient: 100 };
    const instances = [0, 1, 2].map(() => new LoginThrottle({ counters, clock, limits }));
    const waits = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        instances[i % 3]!.admit({ appKey: 'kid', username: 'victim', client: `10.0.0.${i}` }),
      ),
    );
    expect(waits.filter((wait) => wait === 0).length).toBeLessThanOrEqual(3);
    for (const instance of instances) await instance.admit({ appKey: 'kid', username: 'victim', client: '10.0.0.50' });
    expect(await instances[0]!.retryAfterSeconds({ appKey: 'kid', username: 'victim', client: '10.0.0.51' })).toBe(60);
    now += 60_000;
    expect(await instances[2]!.admit({ appKey: 'kid', username: 'victim', client: '10.0.0.99' })).toBe(0);
  });

  test('the in-memory counters keep at most maxEntries keys, the most recent ones', async () => {
    const counters = new MemorySharedState({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) await counters.add('kid', `k${i}`, 1, Date.now() + 60_000);
    expect(await counters.newest('kid', 'k0', 0, 5)).toEqual([]);
    expect(await counters.newest('kid', 'k9999', 0, 5)).toEqual([1]);
    expect(await counters.newest('kid', 'k9900', 0, 5)).toEqual([1]);
    expect(await counters.newest('kid', 'k9899', 0, 5)).toEqual([]);
  });

  test('IPv6 clients count per /64; IPv4-mapped addresses count as IPv4', async () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(clientKey('127.0.0.2')).toBe('127.0.0.2');
  });
});
