/**
 * Hostile images and forged variant links. An image kinbase will not decode gets no placeholder
 * and no variants and a warning in the log; its readers never see an error. A variant link is a
 * capability for one file, generation and preset, and nothing else.
 */
import pino from 'pino';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { fetchBytes, makePhoto, pngDeclaring, uploadFile } from '../support/images';
import { startTestApp, type TestApp } from '../support/test-app';

let t: TestApp;
let auth: string;
let otherAuth: string;
const warnings: Array<{ msg: string; reason?: string }> = [];

beforeAll(async () => {
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string; reason?: string }) },
  );
  t = await startTestApp({ logger });
  auth = (await createUser(t, 'alice')).auth;
  otherAuth = (await createUser(t, 'mallory')).auth;
});
afterAll(() => t.close());

const readBlob = (id: string, query: Record<string, string> = {}, as = auth) =>
  request(t.app)
    .get(`/blob/${t.appKey}/${encodeURIComponent(id)}`)
    .set('Authorization', as)
    .query(query);

/** Reads until the file's analysis is recorded: a placeholder, or a warning about this file. */
async function settle(id: string): Promise<request.Response> {
  for (let i = 0; i < 100; i++) {
    const res = await readBlob(id, { kinveyfile_variants: 'thumb,medium', variant: 'thumb' });
    if (res.body._placeholder || warnings.some((w) => (w as { fileId?: string }).fileId === id)) return res;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the analysis never ended');
}

async function expectNoImage(id: string, reason: RegExp): Promise<void> {
  const res = await settle(id);
  expect(res.status).toBe(200);
  expect(res.body._placeholder).toBeUndefined();
  expect(res.body._variants).toBeUndefined();
  // `variant=thumb` of a file without variants keeps the original's link.
  expect(res.body._downloadURL).not.toContain('/blob-variants/');
  const warned = warnings.find((w) => (w as { fileId?: string }).fileId === id);
  expect(warned?.msg).toMatch(/cannot be decoded/);
  expect(warned?.reason).toMatch(reason);
}

test('a PNG declaring 100,000 x 100,000 pixels (decompression bomb) is never decoded: no placeholder, no variants, reads answer 200', async () => {
  const bomb = pngDeclaring(100_000, 100_000);
  expect(bomb.length).toBeLessThan(2000);
  const id = await uploadFile(t, auth, bomb, 'image/png');
  await expectNoImage(id, /100000 x 100000|pixel/i);
});

test('a truncated JPEG gets no placeholder and no variants', async () => {
  const photo = await makePhoto(800, 600);
  const id = await uploadFile(t, auth, photo.subarray(0, Math.floor(photo.length / 2)), 'image/jpeg');
  await expectNoImage(id, /./);
});

test('an SVG uploaded as image/png is never rasterised', async () => {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><image href="file:///etc/passwd"/></svg>',
  );
  const id = await uploadFile(t, auth, svg, 'image/png');
  await expectNoImage(id, /not a decodable image/);
});

test('a JPEG declared as image/png (bytes not their mimeType) gets no variants', async () => {
  const id = await uploadFile(t, auth, await makePhoto(64, 64), 'image/png');
  await expectNoImage(id, /not a decodable image/);
});

test('an altered variant link (another preset, file or expiry) is refused', async () => {
  const id = await uploadFile(t, auth, await makePhoto(300, 300), 'image/jpeg');
  const res = await settle(id);
  const link = new URL(res.body._variants.thumb._downloadURL as string);
  expect(link.pathname).toContain('/blob-variants/');
  const tampered = [
    (u: URL) => (u.pathname = u.pathname.replace(/\/thumb$/, '/medium')),
    (u: URL) => u.searchParams.set('e', String(Number(u.searchParams.get('e')) + 86400)),
    (u: URL) => u.searchParams.set('e', 'public'),
    (u: URL) => u.searchParams.set('s', 'x'.repeat(43)),
    (u: URL) => u.searchParams.delete('s'),
  ];
  for (const change of tampered) {
    const forged = new URL(link);
    change(forged);
    const got = await fetch(forged, { redirect: 'manual' });
    expect(got.status).toBe(401);
  }
  expect((await fetchBytes(link.toString())).status).toBe(200);
});

test("another user's private file: no expansion for them, and its variant link expires", async () => {
  const id = await uploadFile(t, auth, await makePhoto(200, 100), 'image/jpeg');
  await settle(id);
  expect((await readBlob(id, { kinveyfile_variants: 'thumb' }, otherAuth)).status).toBe(401);
  const res = await readBlob(id, { kinveyfile_variants: 'thumb', ttl_in_seconds: '1' });
  const url = res.body._variants.thumb._downloadURL as string;
  await new Promise((resolve) => setTimeout(resolve, 2600));
  expect((await fetch(url, { redirect: 'manual' })).status).toBe(401);
});

test("a public file's permanent variant links (pending and stored) stop working once the file is made private", async () => {
  const id = await uploadFile(t, auth, await makePhoto(200, 100), 'image/jpeg', { _public: true });
  const res = await settle(id);
  const url = res.body._variants.thumb._downloadURL as string;
  expect(new URL(url).searchParams.get('e')).toBe('public');
  // Made once: later reads give the store's permanent public URL of the variant.
  expect((await fetchBytes(url)).status).toBe(200);
  const stored = (await readBlob(id, { kinveyfile_variants: 'thumb' })).body._variants.thumb._downloadURL as string;
  expect(stored).toContain('/storage/public/');
  expect((await fetchBytes(stored)).status).toBe(200);
  await request(t.app)
    .put(`/blob/${t.appKey}/${id}`)
    .set('Authorization', auth)
    .set('X-Kinvey-Content-Type', 'image/jpeg')
    .send({ mimeType: 'image/jpeg', _public: false })
    .expect(200);
  expect((await fetch(url, { redirect: 'manual' })).status).toBe(401);
  // The stored variant follows its original: no longer served at its public URL.
  expect((await fetchBytes(stored)).status).not.toBe(200);
});

test('kinveyfile_variants naming __proto__ or constructor is a 400, never a 5xx', async () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'thumb,__proto__']) {
    const res = await request(t.app)
      .get(`/appdata/${t.appKey}/things`)
      .query({ kinveyfile_variants: name })
      .set('Authorization', auth);
    expect(res.status).toBe(400);
    const one = await readBlob('x', { variant: name });
    expect(one.status).toBe(400);
  }
  const repeated = await request(t.app)
    .get(`/blob/${t.appKey}`)
    .query('kinveyfile_variants=thumb&kinveyfile_variants=medium')
    .set('Authorization', auth);
  expect(repeated.status).toBe(400);
});
