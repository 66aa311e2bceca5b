/**
 * The one place where URLs of the local storage backend are signed and checked. A signature binds
 * exactly one target (an object key, which includes the app key, or an upload session id), one
 * action and one expiry, so a URL can never be replayed for another object, action or lifetime.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignedAction = 'download' | 'upload';

export interface SignedTarget {
  /** The object key (`<appKey>/<id>`) for downloads, the session id for uploads. */
  target: string;
  action: SignedAction;
  /** Unix seconds after which the URL is expired. */
  expires: number;
}

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

function mac(secret: string, { target, action, expires }: SignedTarget): Buffer {
  // Newline-separated: none of the three parts can contain a newline (keys and ids are validated
  // as [A-Za-z0-9_/-], expires is an integer), so no two different triples share a message.
  return createHmac('sha256', secret).update(`kinbase-v1\n${action}\n${target}\n${expires}`).digest();
}

/** Hex HMAC-SHA256 signature over (target, action, expiry). */
export function signUrl(secret: string, signed: SignedTarget): string {
  return mac(secret, signed).toString('hex');
}

/**
 * Checks a signature from a URL. Returns 'invalid' when the signature does not belong to exactly
 * this (target, action, expires), 'expired' when it does but `now` (the caller's clock) is past
 * `expires`, else 'valid'.
 * Authenticity is checked before expiry, so a forged URL never learns whether its expiry was right.
 */
export function verifyUrlSignature(
  secret: string,
  signed: SignedTarget,
  signature: unknown,
  now: Date,
): SignatureCheck {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return 'invalid';
  if (!Number.isSafeInteger(signed.expires) || signed.expires < 0) return 'invalid';
  // Constant-time comparison: timing must not reveal how many leading bytes were right.
  if (!timingSafeEqual(mac(secret, signed), Buffer.from(signature, 'hex'))) return 'invalid';
  return now.getTime() > signed.expires * 1000 ? 'expired' : 'valid';
}

/** Parses the `expires` query value; NaN (never valid) for anything but a plain non-negative integer. */
export function parseExpires(value: unknown): number {
  return typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
}
