/** Types for `totp.js` (a devDependency without its own): the client TOTP library the MFA tests compute codes with. */
declare module 'totp.js' {
  /** RFC 4226 HOTP over a base32 key, which it decodes to a string before the HMAC. */
  class HOTP {
    constructor(key: string, digit?: number);
    genOTP(movingFactor: number): string;
  }
  /** TOTP on the wall clock (`Date.now()`). */
  class TOTP extends HOTP {
    static HOTP: typeof HOTP;
    genOTP(timeStep?: number, t0?: number): string;
  }
  export = TOTP;
}
