/**
 * What a `$regex` weighs (its size once counted repetitions are expanded, as RE2 compiles it),
 * which bounds how long compiling a filter's patterns can hold the event loop; and that identical
 * patterns are compiled once.
 */
import { compileLinearRegex, MAX_REGEX_WEIGHT, regexWeight } from '../../src/internal/linear-regex';

test.each([
  ['^abc', 4],
  ['.*word.*', 8],
  ['\\d{4}-\\d{2}', 7],
  ['x{1000}', 1000],
  ['x{2,5}', 5],
  ['x{3,}', 4],
  ['(?:ab){10}', 20],
  ['(?:x{10}){10}', 100],
  ['(?i)abc', 3],
  ['(?P<year>\\d{4})', 4],
  ['\\p{Greek}{10}', 10],
  ['[a-z{}]{5}', 5],
])('%s weighs %d', (pattern, weight) => {
  expect(regexWeight(pattern)).toBe(weight);
});

test('1,000 characters of x{1000} (1.3 s to compile) weigh far over the limit and are refused before compiling', () => {
  const pattern = 'x{1000}'.repeat(142);
  expect(regexWeight(pattern)).toBe(142_000);
  expect(() => compileLinearRegex(pattern)).toThrow(/weighs \d+ once its counted repetitions are expanded/);
});

test('a count beyond any number does not make the weight NaN (which would pass every bound)', () => {
  const pattern = `(){${'9'.repeat(400)}}${'x{1000}'.repeat(3)}`;
  expect(regexWeight(pattern)).toBeGreaterThan(MAX_REGEX_WEIGHT);
});

test('identical patterns with identical options compile once', () => {
  expect(compileLinearRegex('^same.*pattern', 'i')).toBe(compileLinearRegex('^same.*pattern', 'i'));
  expect(compileLinearRegex('^same.*pattern', 'i')).not.toBe(compileLinearRegex('^same.*pattern', ''));
});
