/**
 * The ObjectStore contract (src/domain/ports.ts), one suite run against every adapter. Each test gets a
 * fresh store (own directory or bucket) from the factory; URLs are fetched with plain `fetch` and
 * no credentials, as a browser or SDK would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../../src/domain/ports';
import type { TestClock } from '../support/test-clock';

export interface ObjectStoreHarness {
  store: ObjectStore;
  /** Whether the backend refuses a public URL once the object is private again (fake-gcs-server does not). */
  enforcesPrivacy: boolean;
  /**
   * Who checks download signatures: kinbase's own routes (local disk: the store's clock decides
   * expiry), the storage server (versitygw: SigV4 on the wall clock), or nobody (fake-gcs-server).
   */
  signatures: 'kinbase' | 'server' | 'unchecked';
  /**
   * Whether an uploaded object keeps the content type its session was opened with, whatever the
   * upload requests say (GCS does; fake-gcs-server relabels it with a request's Content-Type).
   */
  keepsSessionContentType: boolean;
  /** The store's clock: expiries are set and checked on it, and the tests move it past them. */
  clock: TestClock;
  close(): Promise<void>;
}

export async function readAll(stream: Readable | null): Promise<Buffer | null> {
  if (!stream) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
export const appKey = (): string => `kid_${randomBytes(6).toString('hex')}`;
export const newKey = (app = appKey()): string => `${app}/${randomBytes(32).toString('hex')}`;
const CURL_DEFAULT_TYPE = 'application/x-www-form-urlencoded';
/** `top` over `base`, names compared without case, as the SDKs' header maps merge `_requiredHeaders`. */
function over(base: Record<string, string>, top: Record<string, string>): Headers {
  const headers = new Headers(base);
  for (const [name, value] of Object.entries(top)) headers.set(name, value);
  return headers;
}

export function objectStoreContract(name: string, open: () => Promise<ObjectStoreHarness>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let harness: ObjectStoreHarness;
    let store: ObjectStore;
    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => harness.close());
    const inSeconds = (s: number): Date => harness.clock.inSeconds(s);

    test('a few MB written come back byte-identical, with size, md5 and content type in stat', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const key = newKey();
      const written = await store.write(key, Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]), {
        contentType: 'application/octet-stream',
      });
      expect(written).toMatchObject({
        size: data.length,
        md5: md5(data),
        contentType: 'application/octet-stream',
        public: false,
      });
      expect((await readAll(await store.read(key)))?.equals(data)).toBe(true);
      const stat = await store.stat(key);
      expect(stat).toMatchObject({
        size: data.length,
        md5: md5(data),
        contentType: 'application/octet-stream',
        public: false,
      });
      expect(stat?.updatedAt).toBeInstanceOf(Date);
    });

    test('an empty object is stored and read back empty', async () => {
      const key = newKey();
      await store.write(key, Readable.from([]), { contentType: 'text/plain' });
      expect(await store.stat(key)).toMatchObject({ size: 0, md5: md5(Buffer.alloc(0)), contentType: 'text/plain' });
      expect((await readAll(await store.read(key)))?.length).toBe(0);
    });

    test('range reads return exactly the inclusive byte range', async () => {
      const data = randomBytes(100_000);
      const key = newKey();
      await store.write(key, Readable.from([data]), { contentType: 'application/octet-stream' });
      expect((await readAll(await store.read(key, { start: 0, end: 0 })))?.equals(data.subarray(0, 1))).toBe(true);
      expect((await readAll(await store.read(key, { start: 10, end: 19 })))?.equals(data.subarray(10, 20))).toBe(true);
      expect(
        (await readAll(await store.read(key, { start: 99_000, end: 99_999 })))?.equals(data.subarray(99_000)),
      ).toBe(true);
    });

    test('a missing object reads and stats as null', async () => {
      expect(await store.read(newKey())).toBeNull();
      expect(await store.stat(newKey())).toBeNull();
    });

    test('delete removes the object, and deleting a missing object is fine', async () => {
      const key = newKey();
      await store.write(key, Readable.from([Buffer.from('bye')]), { contentType: 'text/plain' });
      await store.delete(key);
      expect(await store.stat(key)).toBeNull();
      expect(await store.read(key)).toBeNull();
      await expect(store.delete(key)).resolves.toBeUndefined();
      await expect(store.delete(newKey())).resolves.toBeUndefined();
    });

    test('overwriting replaces content, size, md5 and content type', async () => {
      const key = newKey();
      await store.write(key, Readable.from([randomBytes(5000)]), { contentType: 'image/png' });
      const second = Buffer.from('second version');
      await store.write(key, Readable.from([second]), { contentType: 'text/plain' });
      expect(await store.stat(key)).toMatchObject({ size: second.length, md5: md5(second), contentType: 'text/plain' });
      expect((await readAll(await store.read(key)))?.toString()).toBe('second version');
    });

    test('a public object downloads from its public URL without credentials', async () => {
      const data = randomBytes(2048);
      const key = newKey();
      await store.write(key, Readable.from([data]), { contentType: 'image/png' });
      await store.setPublic(key, true);
      expect((await store.stat(key))?.public).toBe(true);
      const url = store.publicUrl(key, { https: false });
      expect(url.startsWith('http://')).toBe(true);
      // An http-only origin is never turned into an https URL nobody serves (SDKs always ask for tls).
      if (harness.signatures !== 'unchecked') expect(store.publicUrl(key, { https: true })).toBe(url);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

      await store.setPublic(key, false);
      expect((await store.stat(key))?.public).toBe(false);
      if (harness.enforcesPrivacy) expect((await fetch(url)).status).toBe(404);
    });

    test('an object written as public is public from the start', async () => {
      const key = newKey();
      await store.write(key, Readable.from([Buffer.from('hi')]), { contentType: 'text/plain', public: true });
      expect((await store.stat(key))?.public).toBe(true);
      expect(await (await fetch(store.publicUrl(key, { https: false }))).text()).toBe('hi');
    });

    test('a signed download URL fetches the object without credentials', async () => {
      const data = randomBytes(300_000);
      const key = newKey();
      await store.write(key, Readable.from([data]), { contentType: 'application/pdf' });
      const url = await store.signDownloadUrl(key, { expiresAt: inSeconds(60), https: false });
      expect(url.startsWith('http://')).toBe(true);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    });

    test('a signed URL expires, and is bound to its object and its signature', async () => {
      const key = newKey();
      const other = newKey(key.split('/')[0]);
      await store.write(key, Readable.from([Buffer.from('secret')]), { contentType: 'text/plain' });
      await store.write(other, Readable.from([Buffer.from('other')]), { contentType: 'text/plain' });
      const expiresAt = inSeconds(60);
      const url = await store.signDownloadUrl(key, { expiresAt, https: false });
      if (harness.signatures === 'server') {
        // A SigV4 presigned GET that ends at the requested expiry (X-Amz-Date + X-Amz-Expires), signed
        // at a time derived from the expiry: a later signing gives the identical URL.
        const params = new URL(url).searchParams;
        expect(params.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
        const signedAt = Date.parse(
          (params.get('X-Amz-Date') ?? '').replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
        );
        expect(signedAt + Number(params.get('X-Amz-Expires')) * 1000).toBe(
          Math.floor(expiresAt.getTime() / 1000) * 1000,
        );
        expect(signedAt).toBeLessThanOrEqual(harness.clock.now().getTime());
        harness.clock.advance(1500);
        expect(await store.signDownloadUrl(key, { expiresAt, https: false })).toBe(url);
        // The server itself refuses a tampered signature and the signature on another key.
        expect((await fetch(url)).status).toBe(200);
        const tampered = url.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
        expect(tampered).not.toBe(url);
        expect((await fetch(tampered)).status).toBe(403);
        const reused = url.replace(key, other);
        expect(reused).not.toBe(url);
        expect((await fetch(reused)).status).toBe(403);
        const longer = url.replace(/X-Amz-Expires=(\d+)/, (_m, s: string) => `X-Amz-Expires=${Number(s) + 3600}`);
        expect([400, 403]).toContain((await fetch(longer)).status);
        return;
      }
      if (harness.signatures === 'unchecked') {
        // fake-gcs-server serves signed URLs without checking signature or expiry, so on GCS we can
        // only assert that the URL is a real V4 signed URL that ends at the requested expiry:
        // X-Goog-Date + X-Goog-Expires (the signing time is derived from the expiry, see the adapter).
        const params = new URL(url).searchParams;
        expect(params.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
        const signedAt = Date.parse(
          (params.get('X-Goog-Date') ?? '').replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
        );
        expect(signedAt + Number(params.get('X-Goog-Expires')) * 1000).toBe(
          Math.floor(expiresAt.getTime() / 1000) * 1000,
        );
        expect(signedAt).toBeLessThanOrEqual(harness.clock.now().getTime());
        expect(params.get('X-Goog-Signature')).toMatch(/^[0-9a-f]{512}$/);
        return;
      }
      // The store's clock stands still until the test moves it, so the URL lives through these
      // checks however slow the machine is.
      expect((await fetch(url)).status).toBe(200);
      const tampered = url.replace(/signature=([0-9a-f])/, (_m, c: string) => `signature=${c === '0' ? '1' : '0'}`);
      expect((await fetch(tampered)).status).toBe(401);
      const reused = url.replace(key, other);
      expect(reused).not.toBe(url);
      expect((await fetch(reused)).status).toBe(401);
      const longer = url.replace(/expires=(\d+)/, (_m, s: string) => `expires=${Number(s) + 3600}`);
      expect((await fetch(longer)).status).toBe(401);
      // Valid up to its expiry (whole seconds in the URL), expired one millisecond later.
      harness.clock.set(Math.floor(expiresAt.getTime() / 1000) * 1000);
      expect((await fetch(url)).status).toBe(200);
      harness.clock.advance(1);
      const expired = await fetch(url);
      expect(expired.status).toBe(401);
      expect(await expired.json()).toEqual({
        error: 'InsufficientCredentials',
        description: expect.any(String),
        debug: expect.stringMatching(/expired/),
      });
    });

    test('an upload session accepts chunks with known ranges and stores the object', async () => {
      const data = randomBytes(256 * 1024 * 2 + 1000);
      const key = newKey();
      const target = await store.createUploadSession(key, {
        contentType: 'image/jpeg',
        size: data.length,
        expiresAt: inSeconds(600),
        closesAt: inSeconds(3600),
        filename: 'photo.jpg',
      });
      const cut = 256 * 1024 * 2;
      const first = await fetch(target.url, {
        method: 'PUT',
        redirect: 'manual',
        headers: over(target.requiredHeaders, {
          'content-type': 'image/jpeg',
          'content-range': `bytes 0-${cut - 1}/${data.length}`,
        }),
        body: data.subarray(0, cut),
      });
      expect(first.status).toBe(308);
      expect(first.headers.get('range')).toBe(`bytes=0-${cut - 1}`);
      expect(await store.stat(key)).toBeNull();
      const last = await fetch(target.url, {
        method: 'PUT',
        redirect: 'manual',
        headers: over(target.requiredHeaders, {
          'content-type': 'image/jpeg',
          'content-range': `bytes ${cut}-${data.length - 1}/${data.length}`,
        }),
        body: data.subarray(cut),
      });
      expect(last.status).toBe(200);
      expect(await store.stat(key)).toMatchObject({ size: data.length, md5: md5(data), contentType: 'image/jpeg' });
      expect((await readAll(await store.read(key)))?.equals(data)).toBe(true);
    });

    test("a client that sends the required headers over its own default Content-Type uploads, and the object keeps the session's type", async () => {
      const data = randomBytes(5000);
      const key = newKey();
      const target = await store.createUploadSession(key, {
        contentType: 'image/png',
        size: data.length,
        expiresAt: inSeconds(600),
        closesAt: inSeconds(3600),
        filename: 'p.png',
      });
      // What `curl --data-binary` sends when it is not told a type; the required headers go on top.
      const put = await fetch(target.url, {
        method: 'PUT',
        redirect: 'manual',
        headers: over({ 'content-type': CURL_DEFAULT_TYPE }, target.requiredHeaders),
        body: data,
      });
      expect(put.status).toBe(200);
      const stat = await store.stat(key);
      expect(stat).toMatchObject({ size: data.length, md5: md5(data) });
      if (harness.keepsSessionContentType) expect(stat?.contentType).toBe('image/png');
    });

    test('a PUT with another value for a required header is refused and stores nothing', async () => {
      const data = randomBytes(5000);
      const key = newKey();
      const target = await store.createUploadSession(key, {
        contentType: 'image/png',
        size: data.length,
        expiresAt: inSeconds(600),
        closesAt: inSeconds(3600),
        filename: 'p.png',
      });
      for (const [name, value] of Object.entries(target.requiredHeaders)) {
        const other = value === CURL_DEFAULT_TYPE ? 'text/plain' : CURL_DEFAULT_TYPE;
        const put = await fetch(target.url, {
          method: 'PUT',
          redirect: 'manual',
          headers: over(target.requiredHeaders, { [name]: other }),
          body: data,
        });
        expect(put.status).toBeGreaterThanOrEqual(400);
        expect(put.status).toBeLessThan(500);
        expect(await store.stat(key)).toBeNull();
      }
    });

    test('keys that are not safe path segments are refused', async () => {
      const app = appKey();
      const unsafe = [
        '../etc/passwd',
        `${app}/../../x`,
        `${app}/..`,
        `${app}/./x`,
        `${app}//x`,
        `/${app}/x`,
        `${app}/x/`,
        `${app}/x.y`,
        `${app}\\x`,
        `${app}/x%2F..`,
        '',
        `${app}/x\u0000`,
      ];
      for (const key of unsafe) {
        await expect(
          store.write(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' }),
        ).rejects.toThrow(/unsafe object key/);
        await expect(store.stat(key)).rejects.toThrow(/unsafe object key/);
        await expect(store.read(key)).rejects.toThrow(/unsafe object key/);
        await expect(store.delete(key)).rejects.toThrow(/unsafe object key/);
        await expect(store.signDownloadUrl(key, { expiresAt: inSeconds(60), https: false })).rejects.toThrow(
          /unsafe object key/,
        );
        await expect(
          store.createUploadSession(key, {
            contentType: 'text/plain',
            expiresAt: inSeconds(60),
            closesAt: inSeconds(3600),
            filename: 'x',
          }),
        ).rejects.toThrow(/unsafe object key/);
        expect(() => store.publicUrl(key, { https: false })).toThrow(/unsafe object key/);
      }
    });
  });
}
