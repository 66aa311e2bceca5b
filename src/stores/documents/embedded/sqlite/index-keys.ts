/**
 * Index keys for the embedded engine: every value a document holds at an indexed path, encoded
 * as bytes whose memcmp order is MongoDB's order of values (mongo-semantics/values.ts), so SQLite's BLOB
 * ordering serves equality, ranges and sorts. An index only narrows: every candidate it yields is
 * checked again by the MongoDB-semantics matcher, so a key need only never miss a match.
 */
import { candidatesAt } from '../../mongo-semantics/values';

/** Type tags, in MongoDB's order: empty array < missing/null < numbers < strings < objects < arrays < booleans < dates. */
export const TAG = {
  emptyArray: 0x00,
  null: 0x01,
  number: 0x02,
  string: 0x03,
  object: 0x04,
  array: 0x05,
  boolean: 0x08,
  date: 0x09,
} as const;

/** Longer keys are cut (a prefix still never misses a match; the index then stops serving sorts). */
export const MAX_KEY_BYTES = 1024;

export interface DocumentKeys {
  keys: Buffer[];
  /** Some value could not be encoded in exact order (an object, a nested array, a cut string). */
  inexact: boolean;
  /** The document has several keys (through arrays): an index walk meets it more than once. */
  multikey: boolean;
  /** The path reaches nothing at all (sparse indexes skip such documents). */
  missing: boolean;
}

/**
 * The keys of `doc` at `path`: one per distinct leaf, as MongoDB's sort uses them (the elements of
 * an array, not the array), a null key for a missing field, the empty-array key for `[]`.
 */
export function documentKeys(doc: unknown, path: readonly string[], cut = true): DocumentKeys {
  const candidates = candidatesAt(doc, path);
  const leaves = candidates.filter((c) => !(Array.isArray(c.value) && !c.expanded));
  const missing = candidates.every((c) => c.value === undefined);
  if (leaves.length === 0) return { keys: [Buffer.from([TAG.emptyArray])], inexact: false, multikey: false, missing };
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  let inexact = false;
  for (const leaf of leaves) {
    const encoded = encodeKey(leaf.value, cut);
    inexact ||= encoded.inexact;
    const hex = encoded.key.toString('latin1');
    if (seen.has(hex)) continue;
    seen.add(hex);
    keys.push(encoded.key);
  }
  return { keys, inexact, multikey: keys.length > 1, missing };
}

/** The key of one scalar value; `inexact` when its order among other keys is not MongoDB's. */
export function encodeKey(value: unknown, cut = true): { key: Buffer; inexact: boolean } {
  if (value === undefined || value === null) return { key: Buffer.from([TAG.null]), inexact: false };
  if (typeof value === 'number') return { key: numberKey(TAG.number, value), inexact: false };
  if (typeof value === 'boolean') return { key: Buffer.from([TAG.boolean, value ? 1 : 0]), inexact: false };
  if (value instanceof Date) return { key: numberKey(TAG.date, value.getTime()), inexact: false };
  if (typeof value === 'string') return withTag(TAG.string, Buffer.from(value, 'utf8'), false, cut);
  // Objects and nested arrays: equal values get equal keys, but their order is not MongoDB's.
  return withTag(
    Array.isArray(value) ? TAG.array : TAG.object,
    Buffer.from(JSON.stringify(value) ?? '', 'utf8'),
    true,
    cut,
  );
}

function withTag(tag: number, body: Buffer, inexact: boolean, cut: boolean): { key: Buffer; inexact: boolean } {
  const tooLong = cut && body.length > MAX_KEY_BYTES - 1;
  const key = Buffer.concat([Buffer.from([tag]), tooLong ? body.subarray(0, MAX_KEY_BYTES - 1) : body]);
  return { key, inexact: inexact || tooLong };
}

/** A float64 as 8 bytes that sort like the numbers: sign bit flipped, all bits flipped if negative. */
function numberKey(tag: number, n: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = tag;
  if (Number.isNaN(n)) return out; // NaN sorts before every number, as in MongoDB.
  out.writeDoubleBE(n === 0 ? 0 : n, 1); // -0 and 0 are one key
  if ((out[1] as number) & 0x80) for (let i = 1; i < 9; i += 1) out[i] = ~(out[i] as number) & 0xff;
  else out[1] = (out[1] as number) | 0x80;
  return out;
}

/** The smallest and largest keys of one type class (for `$gt`/`$lt`, which never cross types). */
export function typeBounds(tag: number): { low: Buffer; high: Buffer } {
  return { low: Buffer.from([tag]), high: Buffer.from([tag + 1]) };
}

/** The type tag a scalar operand compares within, or null when the index cannot serve it. */
export function scalarTag(value: unknown): number | null {
  if (value === null) return TAG.null;
  if (typeof value === 'number') return TAG.number;
  if (typeof value === 'string') return TAG.string;
  if (typeof value === 'boolean') return TAG.boolean;
  if (value instanceof Date) return TAG.date;
  return null;
}
