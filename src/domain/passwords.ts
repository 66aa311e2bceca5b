/**
 * Password hashing with node:crypto scrypt: a random salt per hash, parameters stored with the
 * hash so they can be raised later, and a constant-time comparison.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_BYTES = 16;
const DEFAULT_COST = { N: 16384, r: 8, p: 1 } as const;
/** Upper bounds for parameters read back from a stored hash, so a corrupt record cannot stall the process. */
const MAX_N = 1 << 20;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password into a self-describing string `scrypt$N$r$p$salt$key` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, DEFAULT_COST);
  const { N, r, p } = DEFAULT_COST;
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * Whether `password` matches `stored`. Never throws for a wrong password; a malformed stored hash
 * is treated as "does not match" (after doing the same amount of work).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [scheme, n, r, p, salt, key] = parts;
  const N = Number(n);
  const valid = parts.length === 6 && scheme === 'scrypt' && Number.isInteger(N) && N > 1 && N <= MAX_N && Number(r) > 0 && Number(p) > 0 && Number(r) * Number(p) < 64;
  if (!valid || salt === undefined || key === undefined) {
    await derive(password, randomBytes(SALT_BYTES), DEFAULT_COST);
    return false;
  }
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N, r: Number(r), p: Number(p) });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as verifying a real password, for logins of unknown users, so response
 * timing does not reveal which usernames exist. Always resolves to false.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}

/** A random password for implicit users (signup without credentials). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
