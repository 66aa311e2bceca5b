/**
 * TOTP against RFC 6238 Appendix B (and RFC 4226 Appendix D for HOTP), plus the window and
 * single-use rules kinbase adds, all on chosen instants (no wall clock).
 */
import TOTP from 'totp.js';
import {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotp,
  matchTotp,
  timeStep,
  totpAt,
} from '../../src/domain/mfa/totp';

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
  test.each(RFC6238)(
    'at %d s the RFC test vectors come out for SHA1, SHA256 and SHA512',
    (seconds, sha1, sha256, sha512) => {
      const step = timeStep(new Date(seconds * 1000));
      expect(hotp(SEED_SHA1, step, 8, 'sha1')).toBe(sha1);
      expect(hotp(SEED_SHA256, step, 8, 'sha256')).toBe(sha256);
      expect(hotp(SEED_SHA512, step, 8, 'sha512')).toBe(sha512);
    },
  );

  test('6-digit codes are the last 6 digits of the RFC vectors (what authenticator apps show)', () => {
    const secret = base32Encode(SEED_SHA1);
    for (const [seconds, sha1] of RFC6238) expect(totpAt(secret, new Date(seconds * 1000))).toBe(sha1.slice(2));
  });

  test('HOTP matches RFC 4226 Appendix D', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expected.forEach((code, counter) => expect(hotp(SEED_SHA1, counter)).toBe(code));
  });

  test('base32 round-trips and decodes the RFC 4648 examples', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI======').toString()).toBe('foobar');
    expect(base32Decode('mzxw 6ytb oi').toString()).toBe('foobar');
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{40}$/);
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
    const farCodes = [totpAt(secret, at(step - 2)), totpAt(secret, at(step + 2))].filter(
      (c) => ![-1, 0, 1].some((d) => totpAt(secret, at(step + d)) === c),
    );
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
    for (const bad of ['', `${code}0`, code.slice(1), ` ${code}`, 'abcdef', '１２３４５６'])
      expect(matchTotp(secret, bad, now, -1)).toBeNull();
  });

  test('fresh secrets decode to 25 printable ASCII characters, every one of the 94 drawn', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const key = base32Decode(generateTotpSecret());
      expect(key).toHaveLength(25);
      for (const byte of key) {
        expect(byte).toBeGreaterThanOrEqual(0x21);
        expect(byte).toBeLessThanOrEqual(0x7e);
        seen.add(byte);
      }
    }
    // 10,000 draws: a symbol that never shows up would mean a broken alphabet, not bad luck (chance < 1e-40).
    expect(seen.size).toBe(94);
  });

  test('a client that HMACs the decoded key as a string (totp.js) computes the same codes for fresh secrets', () => {
    const now = new Date(1_700_000_000_000);
    for (let i = 0; i < 50; i++) {
      const secret = generateTotpSecret();
      expect(new TOTP.HOTP(secret).genOTP(timeStep(now))).toBe(totpAt(secret, now));
    }
  });

  test('a secret enrolled before, with raw key bytes above 0x7f, still matches its codes', () => {
    const rawSecret = base32Encode(Buffer.from('ff80c3a9000102fe7f10203040506070809aabbc', 'hex'));
    const now = new Date(1_700_000_000_000);
    expect(matchTotp(rawSecret, totpAt(rawSecret, now), now, -1)).toBe(timeStep(now));
  });
});
