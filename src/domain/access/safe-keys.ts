/**
 * Keys and strings from clients, made safe to use as object keys and to store. Three names are
 * never accepted as a key or a path segment anywhere (bodies, `_acl`, query, sort, fields):
 * assigning to them reaches an object's prototype, and every security decision here reads plain
 * objects. Strings must be well-formed UTF-16: a lone surrogate cannot be stored by MongoDB and
 * hashes to U+FFFD in UTF-8, colliding with a different id.
 */

/** `__proto__`, `constructor` and `prototype`: refused as keys and path segments. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** Whether a string holds no lone surrogate (so it has one exact UTF-8 form). */
export function isWellFormed(value: string): boolean {
  return value.isWellFormed();
}

/** An own property's value, or undefined: never a value inherited through the prototype chain. */
export function ownValue(object: unknown, key: string): unknown {
  return typeof object === 'object' && object !== null && Object.hasOwn(object, key)
    ? (object as Record<string, unknown>)[key]
    : undefined;
}
