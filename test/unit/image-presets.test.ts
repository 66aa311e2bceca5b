import { DEFAULT_IMAGE_VARIANTS, parseVariantNames, variantSize } from '../../src/domain/files/images/image-presets';
import { sniffImageFormat } from '../../src/domain/files/images/image-engine';
import type { AppDefinition } from '../../src/domain/apps/app-definition';

const app: AppDefinition = { appKey: 'k', appSecret: 'a', masterSecret: 'm', name: 'k', collections: {} };

describe('image presets', () => {
  test.each([
    ['thumb', 4000, 3000, { width: 128, height: 128 }],
    ['medium', 4000, 3000, { width: 800, height: 600 }],
    ['medium', 3000, 4000, { width: 800, height: 1067 }],
    // `inside` never enlarges.
    ['medium', 300, 200, { width: 300, height: 200 }],
  ] as const)('%s of %i x %i is %o', (name, width, height, size) => {
    expect(variantSize(DEFAULT_IMAGE_VARIANTS[name]!, width, height)).toEqual(size);
  });

  test('kinveyfile_variants takes known names only, and says which are known', () => {
    expect(parseVariantNames('thumb, medium,thumb', 'kinveyfile_variants', app)).toEqual(['thumb', 'medium']);
    expect(parseVariantNames(undefined, 'kinveyfile_variants', app)).toEqual([]);
    expect(() => parseVariantNames('hasOwnProperty', 'kinveyfile_variants', app)).toThrow(/known: thumb, medium/);
    expect(() => parseVariantNames(['thumb'], 'kinveyfile_variants', app)).toThrow(/comma-separated/);
  });

  test('a format is accepted only when the bytes and the declared type agree', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(sniffImageFormat(jpeg, 'image/jpeg')).toBe('jpeg');
    expect(sniffImageFormat(jpeg, 'image/png')).toBeNull();
    expect(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml')).toBeNull();
    expect(sniffImageFormat(Buffer.from('%PDF-1.7 0000000'), 'image/jpeg')).toBeNull();
  });
});
