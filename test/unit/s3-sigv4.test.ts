/**
 * The SigV4 signer against AWS's published example, and the URL shapes of the S3 store (path-style,
 * virtual-host, S3_PUBLIC_URL), computed without a network call.
 */
import { S3Client } from '../../src/stores/objects/s3/s3-client';
import { S3ObjectStore } from '../../src/stores/objects/s3/s3.object-store';
import { authorizationHeaders, deriveSigningKey, encodeKeyPath, presignUrl } from '../../src/stores/objects/s3/sigv4';

// From AWS's "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" example.
const EXAMPLE = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
};
const signedAt = new Date('2013-05-24T00:00:00Z');

test("a presigned GET matches AWS's published example signature", () => {
  const url = presignUrl(EXAMPLE, deriveSigningKey(EXAMPLE.secretAccessKey, signedAt, 'us-east-1'), {
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
    signedAt,
    expiresInSeconds: 86400,
  });
  expect(new URL(url).searchParams.get('X-Amz-Signature')).toBe(
    'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  );
  expect(url).toContain('X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request');
});

test("a header-signed GET with a range matches AWS's published example signature", () => {
  // AWS's "GET Object" example of header signing (here with its real payload hash of an empty body).
  const headers = authorizationHeaders(EXAMPLE, deriveSigningKey(EXAMPLE.secretAccessKey, signedAt, 'us-east-1'), {
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
    headers: { range: 'bytes=0-9' },
    payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    signedAt,
  });
  expect(headers.authorization).toBe(
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

test('a presigned URL refuses a lifetime beyond the seven days SigV4 allows', () => {
  const key = deriveSigningKey(EXAMPLE.secretAccessKey, signedAt, 'us-east-1');
  const input = { method: 'GET', url: new URL('https://b.s3.amazonaws.com/k'), signedAt };
  expect(() => presignUrl(EXAMPLE, key, { ...input, expiresInSeconds: 604801 })).toThrow(RangeError);
  expect(() => presignUrl(EXAMPLE, key, { ...input, expiresInSeconds: 604800 })).not.toThrow();
});

test('object keys are encoded the way S3 canonicalises them, slashes kept, never twice', () => {
  expect(encodeKeyPath('kid_a/f/ab-12/x y+z~.json')).toBe('kid_a/f/ab-12/x%20y%2Bz~.json');
  expect(encodeKeyPath("a/(b)*!'")).toBe('a/%28b%29%2A%21%27');
});

test('AWS is addressed by virtual host on its regional endpoint; other servers path-style on theirs', () => {
  const aws = new S3Client({ ...EXAMPLE, region: 'eu-west-1', bucket: 'files', forcePathStyle: false });
  expect(aws.objectUrl('kid_a/f/x').toString()).toBe('https://files.s3.eu-west-1.amazonaws.com/kid_a/f/x');
  const r2 = new S3Client({
    ...EXAMPLE,
    region: 'auto',
    bucket: 'files',
    endpoint: 'https://acc.r2.cloudflarestorage.com',
    forcePathStyle: true,
  });
  expect(r2.objectUrl('kid_a/f/x').toString()).toBe('https://acc.r2.cloudflarestorage.com/files/kid_a/f/x');
  aws.close();
  r2.close();
});

describe('public URLs', () => {
  const options = {
    ...EXAMPLE,
    bucket: 'files',
    endpoint: 'https://acc.r2.cloudflarestorage.com',
    forcePathStyle: true,
    kinbaseUrl: 'https://api.example.com',
    signingSecret: 'x'.repeat(32),
    sessionsDir: '/nonexistent',
  };
  const key = 'kid_a/f/0123abcd/gen';

  test('under S3_PUBLIC_URL a public object is the permanent URL of its public copy', async () => {
    const store = new S3ObjectStore({ ...options, publicBaseUrl: 'https://cdn.example.com/' });
    expect(store.publicUrl(key, { https: true })).toBe(`https://cdn.example.com/public.kinbase/${key}`);
    await store.close();
  });

  test('without it, a presigned GET of the public copy signed at the start of the UTC day for 7 days, identical all day', async () => {
    let now = new Date('2026-03-10T00:00:05Z');
    const store = new S3ObjectStore({ ...options, clock: () => now });
    const early = store.publicUrl(key, { https: true });
    now = new Date('2026-03-10T23:59:59Z');
    expect(store.publicUrl(key, { https: true })).toBe(early);
    const params = new URL(early).searchParams;
    expect(new URL(early).pathname).toBe(`/files/public.kinbase/${key}`);
    expect(params.get('X-Amz-Date')).toBe('20260310T000000Z');
    expect(params.get('X-Amz-Expires')).toBe('604800');
    now = new Date('2026-03-11T00:00:00Z');
    expect(store.publicUrl(key, { https: true })).not.toBe(early);
    await store.close();
  });

  test('download URLs are identical for the same expiry whenever they are signed, and never carry the secret', async () => {
    let now = new Date('2026-03-10T12:00:00Z');
    const store = new S3ObjectStore({ ...options, clock: () => now });
    const expiresAt = new Date('2026-03-10T13:00:00Z');
    const first = await store.signDownloadUrl(key, { expiresAt, https: true });
    now = new Date('2026-03-10T12:04:59Z');
    expect(await store.signDownloadUrl(key, { expiresAt, https: true })).toBe(first);
    expect(first).not.toContain(EXAMPLE.secretAccessKey);
    expect(first.startsWith(`https://acc.r2.cloudflarestorage.com/files/${key}?`)).toBe(true);
    await store.close();
  });
});
