/**
 * Password hashing with scrypt: a random salt per hash, parameters stored with the hash so they
 * can be raised later, and a constant-time comparison. The key derivation itself runs wherever
 * the injected ScryptRunner puts it (in production a worker pool, never libuv's thread pool, which
 * file I/O needs).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScryptCost, ScryptRunner } from '../../internal/scrypt-runner';

export { HashingBusyError, type ScryptCost, type ScryptRunner } from '../../internal/scrypt-runner';

const KEY_LENGTH = 32;
const SALT_BYTES = 16;
const DEFAULT_COST: ScryptCost = { N: 16384, r: 8, p: 1 };
/** Upper bounds for parameters read back from a stored hash, so a corrupt record cannot stall the process. */
const MAX_N = 1 << 20;

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly runner: ScryptRunner) {}

  /** Hashes a password into a self-describing string `scrypt$N$r$p$salt$key` (base64url parts). */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.derive(password, salt, DEFAULT_COST);
    const { N, r, p } = DEFAULT_COST;
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /**
   * Whether `password` matches `stored`. Never throws for a wrong password; a malformed stored
   * hash is treated as "does not match" (after doing the same amount of work). Rejects with
   * HashingBusyError when the runner refuses the work.
   */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    const [scheme, n, r, p, salt, key] = parts;
    const N = Number(n);
    const valid =
      parts.length === 6 &&
      scheme === 'scrypt' &&
      Number.isInteger(N) &&
      N > 1 &&
      N <= MAX_N &&
      Number(r) > 0 &&
      Number(p) > 0 &&
      Number(r) * Number(p) < 64;
    if (!valid || salt === undefined || key === undefined) {
      await this.derive(password, randomBytes(SALT_BYTES), DEFAULT_COST);
      return false;
    }
    const expected = Buffer.from(key, 'base64url');
    const actual = await this.derive(password, Buffer.from(salt, 'base64url'), { N, r: Number(r), p: Number(p) });
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  /**
   * Spends the same time as verifying a real password, for logins of unknown users, so response
   * timing does not reveal which usernames exist. Resolves to false.
   */
  async verifyAgainstNothing(password: string): Promise<false> {
    // A refused dummy hash is retried next time instead of being remembered as a failure.
    this.dummyHash ??= this.hash(randomBytes(16).toString('hex')).catch((err: unknown) => {
      this.dummyHash = undefined;
      throw err;
    });
    await this.verify(password, await this.dummyHash);
    return false;
  }

  private derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
    return this.runner.derive(password.normalize('NFC'), salt, KEY_LENGTH, cost);
  }
}

/** A random password for implicit users (signup without credentials). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
