/**
 * `$in`, `$nin` and `$all` look plain members up by key instead of comparing each (a list of 5,000
 * numbers against a 10,000-element array took 200 ms per document). The keys must change no
 * answer: two values share a key exactly when MongoDB's comparison finds them equal.
 */
import fc from 'fast-check';
import { valueKey } from '../../src/stores/documents/mongo-semantics/membership';
import { compileFilter } from '../../src/stores/documents/mongo-semantics/matcher';
import { compareValues, typeClass } from '../../src/stores/documents/mongo-semantics/values';

const plain = [null, true, false, 0, -0, 1, 1.5, '', 'a', 'é', '😀', '1', 'true', 'null', new Date(0)];
// Operands may also hold what no stored document does (JSON has no NaN; 1e400 parses to Infinity).
const operandOnly = [Infinity, -Infinity, NaN, new Date(Number.NaN)];
const valueOf = (scalars: unknown[]) =>
  fc.letrec((tie) => ({
    any: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.constantFrom(...scalars), fc.integer({ min: -3, max: 3 }), fc.string({ maxLength: 3 })),
      fc.array(tie('any'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('any'), { maxKeys: 3 }),
    ),
  })).any;
const value = valueOf([...plain, ...operandOnly]);
const stored = valueOf(plain);
const mongoEqual = (a: unknown, b: unknown): boolean =>
  b === null ? a === null || a === undefined : typeClass(a) === typeClass(b) && compareValues(a, b) === 0;

test('two values with keys share a key exactly when MongoDB finds them equal', () => {
  fc.assert(
    fc.property(value, value, (a, b) => {
      const ka = valueKey(a);
      const kb = valueKey(b);
      if (ka !== undefined && kb !== undefined) expect(ka === kb).toBe(mongoEqual(a, b));
    }),
    { numRuns: 5000 },
  );
});

test('$in, $nin and $all answer as member-by-member comparison does', () => {
  fc.assert(
    fc.property(stored, fc.array(value, { maxLength: 6 }), (held, list) => {
      const doc = { a: held };
      const candidates = Array.isArray(held) ? [held, ...held] : [held];
      const holds = (member: unknown) => candidates.some((c) => mongoEqual(c, member));
      expect(compileFilter({ a: { $in: list } })(doc)).toBe(list.some(holds));
      expect(compileFilter({ a: { $nin: list } })(doc)).toBe(!list.some(holds));
      expect(compileFilter({ a: { $all: list } })(doc)).toBe(list.length > 0 && list.every(holds));
    }),
    { numRuns: 5000 },
  );
});

test('a long $in list is looked up, not compared member by member for every value of a document', () => {
  // A member that counts how often it is read: member-by-member comparison reads it once per value.
  let reads = 0;
  const counted = Object.defineProperty({}, 'k', { enumerable: true, get: () => ((reads += 1), -1) });
  const members = [counted, ...Array.from({ length: 5000 }, (_, i) => i)];
  const doc = { a: Array.from({ length: 10_000 }, (_, i) => ({ k: i })) };
  expect(compileFilter({ a: { $in: members } })(doc)).toBe(false);
  expect(compileFilter({ 'a.k': { $in: members } })(doc)).toBe(true);
  expect(reads).toBeLessThanOrEqual(2);
});
