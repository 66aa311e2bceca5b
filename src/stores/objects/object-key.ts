import { StoreError } from '../../domain/ports';

const SAFE_KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;
const MAX_KEY_LENGTH = 512;

/** True when `key` is a sequence of `[A-Za-z0-9_-]+` segments joined by '/'. */
export function isSafeObjectKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_KEY_LENGTH && SAFE_KEY.test(key);
}

/**
 * Refuses any key that could escape the store's namespace: no '.', '..', empty segments, leading
 * or trailing '/', backslashes, percent-encodings or NUL bytes can pass the allow-list above.
 * Throws StoreError('invalid'). Keys come from the domain, so a refusal here is a bug or an attack.
 */
export function assertSafeObjectKey(key: unknown): asserts key is string {
  if (!isSafeObjectKey(key))
    throw new StoreError('invalid', `unsafe object key ${JSON.stringify(String(key)).slice(0, 80)}`);
}
