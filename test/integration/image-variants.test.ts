/**
 * Image placeholders and variants through real HTTP on the local disk and on GCS
 * (fake-gcs-server): variant bytes are fetched from the links a read gives and decoded with sharp.
 */
import sharp from 'sharp';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { fetchBytes, makePhoto, sendBytes, uploadFile } from '../support/images';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

const apps: TestApp[] = [];
async function open(options: TestAppOptions = {}) {
  const t = await startTestApp(options);
  apps.push(t);
  const alice = await createUser(t, 'alice');
  return { t, auth: alice.auth };
}
afterAll(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});

function readBlob(t: TestApp, auth: string, id: string, query: Record<string, string> = {}) {
  return request(t.app)
    .get(`/blob/${t.appKey}/${encodeURIComponent(id)}`)
    .set('Authorization', auth)
    .query(query);
}

/** Reads until the record shows its placeholder (the analysis may outlast the first read). */
async function readAnalysed(t: TestApp, auth: string, id: string, query: Record<string, string> = {}) {
  for (let i = 0; i < 100; i++) {
    const res = await readBlob(t, auth, id, query);
    if (res.body._placeholder) return res;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no placeholder appeared');
}

describe.each(['local', 'gcs'] as const)('image variants on %s storage', (objects) => {
  let t: TestApp;
  let auth: string;
  let photoId: string;
  beforeAll(async () => {
    ({ t, auth } = await open({ objects }));
    // 1600 x 1200 stored, EXIF orientation 6: displayed 1200 wide, 1600 high.
    photoId = await uploadFile(t, auth, await makePhoto(1600, 1200, 6), 'image/jpeg', { _filename: 'cam.jpg' });
  });

  test('a completed image upload carries its ThumbHash placeholder and displayed size', async () => {
    const res = await readAnalysed(t, auth, photoId);
    expect(res.status).toBe(200);
    expect(res.body._placeholder).toEqual({ thumbhash: expect.any(String), width: 1200, height: 1600 });
    const hash = Buffer.from(res.body._placeholder.thumbhash, 'base64');
    expect(hash.length).toBeGreaterThan(5);
    expect(hash.length).toBeLessThan(40);
    expect(res.body._variants).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('_kinbaseImage');
  });

  test('kinveyfile_variants links serve decoded variants of the announced size and format, without metadata', async () => {
    await readAnalysed(t, auth, photoId);
    const res = await readBlob(t, auth, photoId, { kinveyfile_variants: 'thumb,medium' });
    expect(res.status).toBe(200);
    expect(res.body._variants).toEqual({
      thumb: { _downloadURL: expect.any(String), width: 128, height: 128, mimeType: 'image/webp' },
      medium: { _downloadURL: expect.any(String), width: 800, height: 1067, mimeType: 'image/webp' },
    });
    for (const name of ['thumb', 'medium'] as const) {
      const variant = res.body._variants[name];
      const got = await fetchBytes(variant._downloadURL);
      expect(got.status).toBe(200);
      const meta = await sharp(got.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', variant.width, variant.height]);
      // GPS and camera data of the original never reach a variant's readers.
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
    }
    // Once made, a variant's link is the object store's own URL, not kinbase's pending link.
    const again = await readBlob(t, auth, photoId, { kinveyfile_variants: 'thumb' });
    expect(again.body._variants.thumb._downloadURL).not.toContain('/blob-variants/');
    const stored = await fetchBytes(again.body._variants.thumb._downloadURL);
    expect((await sharp(stored.bytes).metadata()).width).toBe(128);
  });

  test('?variant=thumb answers the file with the variant as _downloadURL', async () => {
    await readAnalysed(t, auth, photoId);
    const res = await readBlob(t, auth, photoId, { variant: 'thumb' });
    expect(res.status).toBe(200);
    expect(res.body._expiresAt).toEqual(expect.any(String));
    const got = await fetchBytes(res.body._downloadURL);
    const meta = await sharp(got.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 128, 128]);
  });

  test('a KinveyFile reference in an entity carries the placeholder and the requested variants', async () => {
    await readAnalysed(t, auth, photoId);
    const saved = await request(t.app)
      .post(`/appdata/${t.appKey}/profiles`)
      .set('Authorization', auth)
      .send({ avatar: { _type: 'KinveyFile', _id: photoId } });
    expect(saved.status).toBe(201);
    const plain = await request(t.app)
      .get(`/appdata/${t.appKey}/profiles/${saved.body._id}`)
      .set('Authorization', auth);
    expect(plain.body.avatar._placeholder).toEqual(expect.objectContaining({ width: 1200, height: 1600 }));
    expect(plain.body.avatar._variants).toBeUndefined();
    const withVariants = await request(t.app)
      .get(`/appdata/${t.appKey}/profiles/${saved.body._id}`)
      .query({ kinveyfile_variants: 'thumb' })
      .set('Authorization', auth);
    const thumb = withVariants.body.avatar._variants.thumb;
    expect(thumb).toEqual(expect.objectContaining({ width: 128, height: 128, mimeType: 'image/webp' }));
    // Without the parameter the response is the same but for `_variants`.
    const { _variants, ...rest } = withVariants.body.avatar;
    expect(JSON.stringify(rest)).toBe(JSON.stringify(plain.body.avatar));
    const meta = await sharp((await fetchBytes(thumb._downloadURL)).bytes).metadata();
    expect([meta.format, meta.width]).toEqual(['webp', 128]);
  });
});

describe('image variants: wire rules (local disk)', () => {
  test('an unknown preset is a 400 naming the known ones, on /appdata, /user and /blob', async () => {
    const { t, auth } = await open();
    for (const path of [`/appdata/${t.appKey}/things`, `/user/${t.appKey}`, `/blob/${t.appKey}`]) {
      const res = await request(t.app)
        .get(path)
        .query({ kinveyfile_variants: 'thumb,huge' })
        .set('Authorization', auth);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('ParameterValueOutOfRange');
      expect(res.body.debug).toContain('known: thumb, medium');
    }
    const one = await request(t.app)
      .get(`/blob/${t.appKey}/anything`)
      .query({ variant: '128x128' })
      .set('Authorization', auth);
    expect(one.status).toBe(400);
    // A write with a bad value is refused before anything is written.
    const write = await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .query({ kinveyfile_variants: 'nope' })
      .set('Authorization', auth)
      .send({ a: 1 });
    expect(write.status).toBe(400);
    const count = await request(t.app).get(`/appdata/${t.appKey}/things/_count`).set('Authorization', auth);
    expect(count.body.count).toBe(0);
  });

  test("the app's configured presets replace the defaults", async () => {
    const { t, auth } = await open({
      imageVariants: { avatar: { width: 48, height: 32, fit: 'cover', format: 'png' } },
    });
    const id = await uploadFile(t, auth, await makePhoto(300, 200), 'image/jpeg');
    await readAnalysed(t, auth, id);
    expect((await readBlob(t, auth, id, { kinveyfile_variants: 'thumb' })).status).toBe(400);
    const res = await readBlob(t, auth, id, { kinveyfile_variants: 'avatar' });
    expect(res.body._variants.avatar).toEqual(
      expect.objectContaining({ width: 48, height: 32, mimeType: 'image/png' }),
    );
    const meta = await sharp((await fetchBytes(res.body._variants.avatar._downloadURL)).bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 48, 32]);
  });

  test('private files get signed links stable within the window; public files permanent links', async () => {
    const { t, auth } = await open();
    const priv = await uploadFile(t, auth, await makePhoto(200, 200), 'image/jpeg');
    const pub = await uploadFile(t, auth, await makePhoto(200, 200), 'image/jpeg', { _public: true });
    await readAnalysed(t, auth, priv);
    await readAnalysed(t, auth, pub);
    const a = await readBlob(t, auth, priv, { kinveyfile_variants: 'thumb', ttl_in_seconds: '3600' });
    const b = await readBlob(t, auth, priv, { kinveyfile_variants: 'thumb', ttl_in_seconds: '3600' });
    expect(a.body._variants.thumb._downloadURL).toBe(b.body._variants.thumb._downloadURL);
    expect(new URL(a.body._variants.thumb._downloadURL).searchParams.get('e')).toMatch(/^\d+$/);
    const p = await readBlob(t, auth, pub, { kinveyfile_variants: 'thumb' });
    expect(p.body._expiresAt).toBeUndefined();
    expect(new URL(p.body._variants.thumb._downloadURL).searchParams.get('e')).toBe('public');
    // Once made, the public variant's URL is the store's permanent public URL.
    expect((await fetchBytes(p.body._variants.thumb._downloadURL)).status).toBe(200);
    const made = await readBlob(t, auth, pub, { kinveyfile_variants: 'thumb' });
    expect(made.body._variants.thumb._downloadURL).toMatch(/\/storage\/public\/[^?]+$/);
    expect((await fetchBytes(made.body._variants.thumb._downloadURL)).status).toBe(200);
  });

  test('a new upload makes new variants; deleting the file deletes them', async () => {
    const { t, auth } = await open();
    const id = await uploadFile(t, auth, await makePhoto(400, 200), 'image/jpeg');
    await readAnalysed(t, auth, id);
    const first = await readBlob(t, auth, id, { kinveyfile_variants: 'medium' });
    await fetchBytes(first.body._variants.medium._downloadURL);
    const made = (await readBlob(t, auth, id, { kinveyfile_variants: 'medium' })).body._variants.medium._downloadURL;
    expect((await fetchBytes(made)).status).toBe(200);

    const ticket = await request(t.app)
      .put(`/blob/${t.appKey}/${id}`)
      .set('Authorization', auth)
      .set('X-Kinvey-Content-Type', 'image/jpeg')
      .send({ mimeType: 'image/jpeg' });
    await sendBytes(ticket.body, await makePhoto(100, 300), 'image/jpeg');
    const next = await readAnalysed(t, auth, id, { kinveyfile_variants: 'medium' });
    expect(next.body._placeholder).toEqual(expect.objectContaining({ width: 100, height: 300 }));
    expect(next.body._variants.medium).toEqual(expect.objectContaining({ width: 100, height: 300 }));
    // The previous generation's variant is gone with it.
    expect((await fetchBytes(made)).status).toBe(404);
    const fresh = await fetchBytes(next.body._variants.medium._downloadURL);
    expect((await sharp(fresh.bytes).metadata()).height).toBe(300);
    const freshStored = (await readBlob(t, auth, id, { kinveyfile_variants: 'medium' })).body._variants.medium
      ._downloadURL;

    await request(t.app).delete(`/blob/${t.appKey}/${id}`).set('Authorization', auth).expect(200);
    expect((await fetchBytes(freshStored)).status).toBe(404);
  });

  test('a metadata-only PUT (a pending re-upload) keeps the placeholder and variants of the served bytes', async () => {
    const { t, auth } = await open();
    const id = await uploadFile(t, auth, await makePhoto(300, 150), 'image/jpeg');
    const before = await readAnalysed(t, auth, id);
    const put = await request(t.app)
      .put(`/blob/${t.appKey}/${id}`)
      .set('Authorization', auth)
      .set('X-Kinvey-Content-Type', 'image/jpeg')
      .send({ mimeType: 'image/jpeg', caption: 'renamed' });
    expect(put.status).toBe(200);
    const after = await readBlob(t, auth, id, { kinveyfile_variants: 'thumb' });
    expect(after.body._uploadState.status).toBe('pending');
    expect(after.body._placeholder).toEqual(before.body._placeholder);
    const meta = await sharp((await fetchBytes(after.body._variants.thumb._downloadURL)).bytes).metadata();
    expect([meta.format, meta.width]).toEqual(['webp', 128]);
  });

  test('files that are not images carry neither field', async () => {
    const { t, auth } = await open();
    const id = await uploadFile(t, auth, Buffer.from('just text'), 'text/plain');
    const res = await readBlob(t, auth, id, { kinveyfile_variants: 'thumb' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(
      [
        '_acl',
        '_downloadURL',
        '_expiresAt',
        '_filename',
        '_id',
        '_kmd',
        '_public',
        '_uploadState',
        'mimeType',
        'size',
      ].sort(),
    );
  });
});
