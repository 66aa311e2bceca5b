/**
 * Time-based one-time passwords (RFC 6238 on RFC 4226 HOTP): HMAC-SHA1, 30-second steps, 6
 * digits, what every authenticator app computes from a base32 secret. Pure functions over
 * node:crypto; the caller supplies the time, so tests choose their time steps.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one (clock drift between phone and server). */
export const TOTP_WINDOW = 1;
/**
 * Secret keys are printable ASCII, '!' (33) to '~' (126): 94 symbols, 6.55 bits each, so 25 of
 * them carry 163 bits, above the 160 RFC 4226 recommends, and encode to 40 base32 characters
 * (no padding). Kinvey's secrets were base32 of an ASCII string too (as `speakeasy` makes them),
 * and client libraries exist that turn the decoded key into a string before the HMAC (`totp.js`:
 * `base32.decode(key).toString()`): a byte above 0x7f does not survive that, so their codes for a
 * raw-byte secret are wrong. Secrets enrolled before (raw bytes) still verify: the server always
 * uses the decoded bytes.
 */
const SECRET_CHARS = 25;
const FIRST_PRINTABLE = 0x21;
const LAST_PRINTABLE = 0x7e;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as authenticator apps expect in `otpauth://` URIs. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, padding and spaces ignored). Throws on other characters. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error('not a base32 string');
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** A fresh random TOTP secret: base32 of 25 uniformly random printable ASCII characters. */
export function generateTotpSecret(): string {
  // randomInt draws from the CSPRNG by rejection sampling, so every symbol is equally likely (no modulo bias).
  const key = Buffer.alloc(SECRET_CHARS);
  for (let i = 0; i < SECRET_CHARS; i++) key[i] = randomInt(FIRST_PRINTABLE, LAST_PRINTABLE + 1);
  return base32Encode(key);
}

/** The time step (RFC 6238 T) of an instant. */
export function timeStep(at: Date, stepSeconds = TOTP_STEP_SECONDS): number {
  return Math.floor(at.getTime() / 1000 / stepSeconds);
}

/** RFC 4226 HOTP of a raw key at a counter, with `digits` digits (RFC 6238 allows SHA-256/512 too). */
export function hotp(
  key: Buffer,
  counter: number,
  digits = TOTP_DIGITS,
  algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac(algorithm, key).update(message).digest();
  const offset = digest[digest.length - 1]! & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP code of a base32 secret at an instant. */
export function totpAt(secret: string, at: Date): string {
  return hotp(base32Decode(secret), timeStep(at));
}

/**
 * The time step whose code `code` is, within ±TOTP_WINDOW steps of `at` and later than
 * `lastUsedStep` (a code, once used, never works again, nor does any older one); null when it
 * matches none. Compares in constant time; a code that is not 6 digits never matches.
 */
export function matchTotp(secret: string, code: string, at: Date, lastUsedStep: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const key = base32Decode(secret);
  const now = timeStep(at);
  let matched: number | null = null;
  // Every candidate is computed and compared, so timing does not tell which step matched.
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(key, step)), Buffer.from(code));
    if (equal && step > lastUsedStep && matched === null) matched = step;
  }
  return matched;
}
