/**
 * TOTP against RFC 6238 Appendix B (and RFC 4226 Appendix D for HOTP), plus the window and
 * single-use rules kinbase adds, all on chosen instants (no wall clock).
 */
import { base32Decode, base32Encode, generateTotpSecret, hotp, matchTotp, timeStep, totpAt } from '../../src/domain/totp';

const SEED_SHA1 = Buffer.from('12345678901234567890', 'ascii');
const SEED_SHA256 = Buffer.from('12345678901234567890123456789012', 'ascii');
const SEED_SHA512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii');

// RFC 6238 Appendix B: time (s), 8-digit TOTP for SHA1, SHA256, SHA512.
const RFC6238: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  test.each(RFC6238)('at %d s the RFC test vectors come out for SHA1, SHA256 and SHA512', (seconds, sha1, sha256, sha512) => {
    const step = timeStep(new Date(seconds * 1000));
    expect(hotp(SEED_SHA1, step, 8, 'sha1')).toBe(sha1);
    expect(hotp(SEED_SHA256, step, 8, 'sha256')).toBe(sha256);
    expect(hotp(SEED_SHA512, step, 8, 'sha512')).toBe(sha512);
  });

  test('6-digit codes are the last 6 digits of the RFC vectors (what authenticator apps show)', () => {
    const secret = base32Encode(SEED_SHA1);
    for (const [seconds, sha1] of RFC6238) expect(totpAt(secret, new Date(seconds * 1000))).toBe(sha1.slice(2));
  });

  test('HOTP matches RFC 4226 Appendix D', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expected.forEach((code, counter) => expect(hotp(SEED_SHA1, counter)).toBe(code));
  });

  test('base32 round-trips and decodes the RFC 4648 examples', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI======').toString()).toBe('foobar');
    expect(base32Decode('mzxw 6ytb oi').toString()).toBe('foobar');
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Encode(base32Decode(secret))).toBe(secret);
    expect(() => base32Decode('not-base32!')).toThrow();
  });

  test('a code matches one step either side of now, and not two', () => {
    const secret = generateTotpSecret();
    const now = new Date(1_700_000_000_000);
    const step = timeStep(now);
    const at = (s: number) => new Date(s * 30_000);
    expect(matchTotp(secret, totpAt(secret, now), now, -1)).toBe(step);
    expect(matchTotp(secret, totpAt(secret, at(step - 1)), now, -1)).toBe(step - 1);
    expect(matchTotp(secret, totpAt(secret, at(step + 1)), now, -1)).toBe(step + 1);
    const farCodes = [totpAt(secret, at(step - 2)), totpAt(secret, at(step + 2))].filter((c) => ![-1, 0, 1].some((d) => totpAt(secret, at(step + d)) === c));
    for (const code of farCodes) expect(matchTotp(secret, code, now, -1)).toBeNull();
  });

  test('a used step and every older one never match again', () => {
    const secret = generateTotpSecret();
    const now = new Date(1_700_000_000_000);
    const step = timeStep(now);
    const code = totpAt(secret, now);
    expect(matchTotp(secret, code, now, step)).toBeNull();
    expect(matchTotp(secret, totpAt(secret, new Date((step - 1) * 30_000)), now, step - 1)).toBeNull();
    expect(matchTotp(secret, totpAt(secret, new Date((step + 1) * 30_000)), now, step)).toBe(step + 1);
  });

  test('anything but six digits never matches', () => {
    const secret = generateTotpSecret();
    const now = new Date(1_700_000_000_000);
    const code = totpAt(secret, now);
    for (const bad of ['', `${code}0`, code.slice(1), ` ${code}`, 'abcdef', '１２３４５６']) expect(matchTotp(secret, bad, now, -1)).toBeNull();
  });
});
