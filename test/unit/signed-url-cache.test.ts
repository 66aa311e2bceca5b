/**
 * The signed-URL cache on a TestClock: a repeated request for the same object, scheme and expiry
 * is answered from memory while that URL lives, and signed again once its expiry has come.
 */
import { SignedUrlCache } from '../../src/stores/decorators/signed-url-cache';
import { LocalDiskObjectStore } from '../../src/stores/objects/local-disk/local-disk.object-store';
import { TestClock } from '../support/test-clock';

describe('SignedUrlCache', () => {
  test('a cached URL is served until its expiry, and from its expiry on it is signed again', async () => {
    const clock = new TestClock();
    // Signing a local URL touches no disk: the directory is never read.
    const inner = new LocalDiskObjectStore({
      dir: '/nonexistent',
      publicUrl: 'http://127.0.0.1:1',
      signingSecret: 'x'.repeat(32),
      clock: clock.now,
    });
    const outcomes: string[] = [];
    const cache = new SignedUrlCache(inner, { observe: (outcome) => outcomes.push(outcome), clock: clock.now });
    try {
      const options = { expiresAt: clock.inSeconds(60), https: false };
      const first = await cache.signDownloadUrl('kid_a/object', options);
      clock.advance(59_999);
      expect(await cache.signDownloadUrl('kid_a/object', options)).toBe(first);
      clock.advance(1);
      // Signed again (a miss), to the identical URL: local signing is a pure function of key and expiry.
      expect(await cache.signDownloadUrl('kid_a/object', options)).toBe(first);
      expect(outcomes).toEqual(['miss', 'hit', 'miss']);
    } finally {
      await inner.close();
    }
  });
});
