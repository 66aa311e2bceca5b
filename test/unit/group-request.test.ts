/**
 * The size bounds of a `_group` request, told before anything is built from it: `initial` (which
 * every group of the answer repeats) is measured without serializing a large one.
 */
import { jsonLongerThan, MAX_INITIAL_BYTES, parseGroupRequest } from '../../src/domain/appdata/aggregation.service';

const COUNT = 'function(doc, out) { out.count += 1; }';
/** An initial whose JSON is exactly `n` characters long. */
const initialOf = (n: number) => ({ count: 0, pad: 'x'.repeat(n - JSON.stringify({ count: 0, pad: '' }).length) });

describe('jsonLongerThan', () => {
  const values: unknown[] = [
    {},
    [],
    null,
    0,
    -12.5e-7,
    true,
    '',
    'a"b\\c\u0001',
    ['x', 1, null, { a: [] }],
    { 'k"ey': { nested: ['é', 2, false] }, n: 123456789 },
  ];
  test.each(values.map((v) => [JSON.stringify(v), v]))(
    'is false for %s at its own JSON length (a lower bound, never over)',
    (_json, value) => {
      expect(jsonLongerThan(value, JSON.stringify(value).length)).toBe(false);
    },
  );

  test('is true for a 4.9 MB string against 1 KiB', () => {
    expect(jsonLongerThan({ count: 0, pad: 'x'.repeat(4_900_000) }, MAX_INITIAL_BYTES)).toBe(true);
  });
});

describe('parseGroupRequest', () => {
  test('an initial of exactly 1,024 characters of JSON is accepted', () => {
    const initial = initialOf(MAX_INITIAL_BYTES);
    expect(JSON.stringify(initial)).toHaveLength(MAX_INITIAL_BYTES);
    expect(parseGroupRequest({ key: {}, initial, reduce: COUNT }).initialBytes).toBe(MAX_INITIAL_BYTES);
  });

  test('an initial one character over 1,024 is 400 BadRequest naming the limit', () => {
    expect(() => parseGroupRequest({ key: {}, initial: initialOf(MAX_INITIAL_BYTES + 1), reduce: COUNT })).toThrow(
      expect.objectContaining({
        status: 400,
        error: 'BadRequest',
        debug: expect.stringMatching(/initial holds more than 1024 characters/),
      }),
    );
  });

  test('an initial made large by escapes is measured as sent', () => {
    // 200 control characters are 1,200 characters of JSON (\u0001 each).
    expect(() =>
      parseGroupRequest({ key: {}, initial: { count: 0, pad: '\u0001'.repeat(200) }, reduce: COUNT }),
    ).toThrow(expect.objectContaining({ status: 400 }));
  });
});
