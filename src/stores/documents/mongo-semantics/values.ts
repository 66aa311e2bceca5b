/**
 * Values as MongoDB sees them: what a dotted path reaches inside a document, BSON type classes,
 * and MongoDB's total order of values.
 */

/** A value found at a path; `expanded` marks elements of an array reached by implicit traversal. */
export interface Candidate {
  value: unknown;
  expanded: boolean;
}

/**
 * Every value at `path`, MongoDB-style: arrays met on the way are traversed element by element
 * (numeric segments index into them), and an array at the end contributes itself and its elements.
 * A path that reaches nothing yields one `undefined` candidate (a missing field).
 */
export function candidatesAt(doc: unknown, path: readonly string[]): Candidate[] {
  const out: Candidate[] = [];
  collect(doc, path, 0, out);
  return out.length > 0 ? out : [{ value: undefined, expanded: false }];
}

function collect(value: unknown, path: readonly string[], depth: number, out: Candidate[]): void {
  if (depth === path.length) {
    out.push({ value, expanded: false });
    if (Array.isArray(value)) for (const element of value) out.push({ value: element, expanded: true });
    return;
  }
  const segment = path[depth] as string;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(segment)) {
      const index = Number(segment);
      if (index < value.length) collect(value[index], path, depth + 1, out);
      return;
    }
    // Field names reach into the array's documents only; scalars and nested arrays have no fields.
    for (const element of value) if (isPlainObject(element)) collect(element, path, depth, out);
    return;
  }
  if (isPlainObject(value)) {
    if (Object.hasOwn(value, segment)) collect(value[segment], path, depth + 1, out);
    else out.push({ value: undefined, expanded: false });
  }
}

/** BSON type classes in MongoDB's comparison order (missing and null compare as equals). */
export function typeClass(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 3;
  if (Array.isArray(value)) return 5;
  if (typeof value === 'boolean') return 8;
  if (value instanceof Date) return 9;
  if (value instanceof RegExp) return 11;
  return 4;
}

/**
 * Total order of values as MongoDB sorts them: missing/null < numbers < strings < objects < arrays
 * < booleans < dates. Strings compare by code point (MongoDB's binary comparison), objects field by
 * field in stored order, arrays element by element.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ca = typeClass(a);
  const cb = typeClass(b);
  if (ca !== cb) return ca < cb ? -1 : 1;
  switch (ca) {
    case 1:
      return 0;
    case 2:
      return sign((a as number) - (b as number));
    case 3:
      return compareStrings(a as string, b as string);
    case 5:
      return compareSequences(a as unknown[], b as unknown[], compareValues);
    case 8:
      return sign(Number(a) - Number(b));
    case 9:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 11:
      return compareStrings(String(a), String(b));
    default:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ea = Object.entries(a).filter(([, v]) => v !== undefined);
  const eb = Object.entries(b).filter(([, v]) => v !== undefined);
  return compareSequences(
    ea,
    eb,
    ([ka, va], [kb, vb]) => sign(typeClass(va) - typeClass(vb)) || compareStrings(ka, kb) || compareValues(va, vb),
  );
}

function compareSequences<T>(a: readonly T[], b: readonly T[], compare: (x: T, y: T) => number): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const order = compare(a[i] as T, b[i] as T);
    if (order !== 0) return order;
  }
  return sign(a.length - b.length);
}

export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      // Code points, not UTF-16 units: that is the order of UTF-8 bytes, which MongoDB compares.
      return sign((a.codePointAt(i) as number) - (b.codePointAt(i) as number));
    }
  }
  return sign(a.length - b.length);
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}
