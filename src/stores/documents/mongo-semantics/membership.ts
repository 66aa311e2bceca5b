/**
 * `$in`, `$nin` and `$all` against a long list in time that does not grow with the list: a member
 * with a canonical key (strings, finite numbers, booleans, valid dates, and arrays and objects of
 * those) is looked up in a set, the rest (a top-level `null`, which also matches a missing field,
 * a RegExp, Infinity) is compared one by one. Two values have the same key exactly when
 * compareValues (values.ts) finds them equal, so answers are unchanged. Without this, a
 * list of 5,000 numbers against a document's 10,000-element array took 200 ms per document.
 */
import { typeClass } from './values';

/** `value`'s key, or undefined when it has none (top-level null/missing, RegExp, NaN, Infinity, invalid date). */
export function valueKey(value: unknown, nested = false): string | undefined {
  switch (typeClass(value)) {
    case 1:
      return nested ? 'z' : undefined;
    case 2:
      return Number.isFinite(value) ? `n${String((value as number) === 0 ? 0 : value)}` : undefined;
    case 3:
      return JSON.stringify(value);
    case 8:
      return value ? 't' : 'f';
    case 9: {
      const time = (value as Date).getTime();
      return Number.isNaN(time) ? undefined : `d${time}`;
    }
    case 5: {
      const parts: string[] = [];
      for (const element of value as unknown[]) {
        const key = valueKey(element, true);
        if (key === undefined) return undefined;
        parts.push(key);
      }
      return `[${parts.join(',')}]`;
    }
    case 4: {
      // In stored order, undefined fields left out: as compareObjects compares them.
      const parts: string[] = [];
      for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
        if (inner === undefined) continue;
        const key = valueKey(inner, true);
        if (key === undefined) return undefined;
        parts.push(`${JSON.stringify(name)}:${key}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return undefined;
  }
}

/** Members split into keys (a set) and the rest; `composite` when some keyed member is an array or object. */
export interface Members {
  keys: Set<string>;
  others: unknown[];
  composite: boolean;
}

export function membersOf(list: readonly unknown[]): Members {
  const members: Members = { keys: new Set(), others: [], composite: false };
  for (const member of list) {
    const key = valueKey(member);
    if (key === undefined) members.others.push(member);
    else {
      members.keys.add(key);
      members.composite ||= typeof member === 'object';
    }
  }
  return members;
}

/**
 * The key of `value` when it could equal a keyed member: scalars always, arrays and objects only
 * when some member is one (a large sub-document is not serialised to be compared with numbers).
 */
export function lookupKey(value: unknown, members: Members): string | undefined {
  if (members.keys.size === 0) return undefined;
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && !members.composite) return undefined;
  return valueKey(value);
}
