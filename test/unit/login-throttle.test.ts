/**
 * The failed-login throttle's policy on an injected clock: locks last until their window ends and
 * no longer, a success clears the username but not the client, a client known for a username has
 * a lock of its own at the username limit, tables stay bounded, and an IPv6 attacker cannot dodge
 * the client limit by rotating addresses inside its /64.
 */
import { LoginThrottle, clientKey, type LoginAttempt } from '../../src/domain/users/login-throttle';

function throttleAt(start = Date.parse('2026-01-01T00:00:00Z'), limits = {}) {
  let now = start;
  const throttle = new LoginThrottle({
    clock: () => new Date(now),
    limits: { windowSeconds: 60, failuresPerUsername: 3, failuresPerClient: 5, ...limits },
  });
  return { throttle, advance: (seconds: number) => void (now += seconds * 1000) };
}

/** An attempt that is admitted and turns out to have the right password. */
function succeed(throttle: LoginThrottle, attempt: LoginAttempt): void {
  expect(throttle.admit(attempt)).toBe(0);
  throttle.succeeded(attempt);
}

describe('LoginThrottle', () => {
  test('a username locked by failures is free again when its window ends, not later', () => {
    const { throttle, advance } = throttleAt();
    const attempt = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    for (let i = 0; i < 3; i++) {
      expect(throttle.admit(attempt)).toBe(0);
      advance(10);
    }
    expect(throttle.retryAfterSeconds(attempt)).toBe(30);
    expect(throttle.retryAfterSeconds({ ...attempt, client: '10.0.0.2' })).toBe(30);
    advance(29);
    expect(throttle.retryAfterSeconds(attempt)).toBe(1);
    advance(1);
    expect(throttle.retryAfterSeconds(attempt)).toBe(0);
  });

  test('usernames are counted per app', () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 3; i++) expect(throttle.admit({ appKey: 'kid_a', username: 'u', client: '10.0.0.1' })).toBe(0);
    expect(throttle.retryAfterSeconds({ appKey: 'kid_a', username: 'u' })).toBeGreaterThan(0);
    expect(throttle.retryAfterSeconds({ appKey: 'kid_b', username: 'u' })).toBe(0);
  });

  test("logging into one's own account does not reset a client's count of failures elsewhere", () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 5; i++) {
      succeed(throttle, { appKey: 'kid', username: 'attacker', client: '10.0.0.9' });
      expect(throttle.admit({ appKey: 'kid', username: `victim${i}`, client: '10.0.0.9' })).toBe(0);
    }
    expect(throttle.retryAfterSeconds({ appKey: 'kid', username: 'attacker', client: '10.0.0.9' })).toBeGreaterThan(0);
  });

  test("a success clears the username's count, and its client stays welcome while others are locked out", () => {
    const { throttle } = throttleAt();
    const owner = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    expect(throttle.admit(owner)).toBe(0);
    expect(throttle.admit(owner)).toBe(0);
    succeed(throttle, owner);
    expect(throttle.admit(owner)).toBe(0);
    expect(throttle.admit(owner)).toBe(0);
    expect(throttle.retryAfterSeconds(owner)).toBe(0);
    // The attacker's third failure reaches the username's limit.
    expect(throttle.admit({ ...owner, client: '192.0.2.7' })).toBe(0);
    expect(throttle.retryAfterSeconds({ ...owner, client: '192.0.2.7' })).toBeGreaterThan(0);
    expect(throttle.retryAfterSeconds(owner)).toBe(0);
    // Without a client address (Basic credentials) the username lock holds.
    expect(throttle.retryAfterSeconds({ appKey: 'kid', username: 'victim' })).toBeGreaterThan(0);
  });

  test("guessing from a victim's known address (a shared NAT) gets the username limit, not the client limit", () => {
    const { throttle, advance } = throttleAt(undefined, { failuresPerUsername: 3, failuresPerClient: 10 });
    const victim = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    succeed(throttle, victim);
    // Someone else behind 10.0.0.1 guesses: the known address has a lock of its own at 3.
    for (let i = 0; i < 3; i++) expect(throttle.admit(victim)).toBe(0);
    expect(throttle.admit(victim)).toBeGreaterThan(0);
    // The window ends; the lock does too.
    advance(60);
    expect(throttle.admit(victim)).toBe(0);
  });

  test("a known client's own failures do not lock the username for the victim's other known clients", () => {
    const { throttle } = throttleAt();
    const office = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    const home = { ...office, client: '10.0.0.2' };
    succeed(throttle, office);
    succeed(throttle, home);
    for (let i = 0; i < 3; i++) expect(throttle.admit(office)).toBe(0);
    expect(throttle.retryAfterSeconds(office)).toBeGreaterThan(0);
    expect(throttle.retryAfterSeconds(home)).toBe(0);
    // ...but an unknown client is held by the username's lock, which those failures count toward.
    expect(throttle.retryAfterSeconds({ ...office, client: '192.0.2.7' })).toBeGreaterThan(0);
  });

  test('concurrent guesses count from the moment they are admitted, before any is checked', () => {
    const { throttle } = throttleAt();
    const outcomes = Array.from({ length: 32 }, () =>
      throttle.admit({ appKey: 'kid', username: 'victim', client: '10.0.0.1' }),
    );
    expect(outcomes.filter((wait) => wait === 0)).toHaveLength(3);
  });

  test('an attempt never checked (server busy) takes its count back', () => {
    const { throttle } = throttleAt();
    const attempt = { appKey: 'kid', username: 'victim', client: '10.0.0.1' };
    for (let i = 0; i < 10; i++) {
      expect(throttle.admit(attempt)).toBe(0);
      throttle.withdraw(attempt);
    }
  });

  test('a flood of distinct usernames and clients keeps at most maxEntries keys per table', () => {
    const { throttle } = throttleAt(undefined, { maxEntries: 100, failuresPerClient: 1_000_000 });
    for (let i = 0; i < 10_000; i++)
      expect(
        throttle.admit({
          appKey: 'kid',
          username: `u${i}`,
          client: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        }),
      ).toBe(0);
    expect(throttle.sizes()).toEqual({ usernames: 100, clients: 100, knownClients: 0, knownFailures: 0 });
    // The most recent keys are the ones kept.
    expect(throttle.retryAfterSeconds({ appKey: 'kid', username: 'u9999' })).toBe(0);
  });

  test('IPv6 clients count per /64; IPv4-mapped addresses count as IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(clientKey('127.0.0.2')).toBe('127.0.0.2');
  });
});
