/**
 * Our V4 builder against the reference: @google-cloud/storage's own V4 signer, driven through
 * `file.getSignedUrl` with the Storage's auth client swapped for one that records the blob it is
 * asked to sign (the string-to-sign) and signs it with a local RSA key. Same inputs must give the
 * byte-identical canonical request, string-to-sign and URL. HMAC is checked against a vector this
 * test derives itself from the spec's steps.
 */
import { createHash, createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import {
  buildCanonicalRequest,
  buildStringToSign,
  signedUrl,
  signHmac,
  type V4UrlInput,
} from '../../src/stores/objects/gcs/v4-signer';

const CLIENT_EMAIL = 'signer-test@kinbase-test.iam.gserviceaccount.com';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A Storage whose URL signing goes through a recording auth client: the library's seam for sign(). */
function referenceStorage(apiEndpoint: string | undefined): { storage: Storage; blobs: string[] } {
  const storage = new Storage({ projectId: 'kinbase-test', ...(apiEndpoint ? { apiEndpoint } : {}) });
  const blobs: string[] = [];
  const recordingAuth = {
    getCredentials: async () => ({ client_email: CLIENT_EMAIL }),
    sign: async (blob: string) => {
      blobs.push(blob);
      return rsaSign('sha256', Buffer.from(blob, 'utf8'), privateKey).toString('base64');
    },
  };
  (storage as unknown as { authClient: unknown }).authClient = recordingAuth;
  return { storage, blobs };
}

interface LibrarySigning {
  url: string;
  stringToSign: string;
  canonicalRequest: string;
}

/** The library's URL, string-to-sign and canonical request for a read URL signed at `signedAt`. */
async function librarySigns(
  endpoint: string | undefined,
  bucket: string,
  name: string,
  signedAt: Date,
  expiresInSeconds: number,
): Promise<LibrarySigning> {
  const { storage, blobs } = referenceStorage(endpoint);
  const file = storage.bucket(bucket).file(name);
  const config = {
    version: 'v4' as const,
    action: 'read' as const,
    accessibleAt: signedAt,
    expires: signedAt.getTime() + expiresInSeconds * 1000,
  };
  // The URLSigner is created on first use; a first call creates it so its canonical-request step
  // can be observed (spied, still running the library's code) on the second, identical call.
  await file.getSignedUrl(config);
  const urlSigner = (file as unknown as { signer: { getCanonicalRequest: (...args: unknown[]) => string } }).signer;
  const spy = jest.spyOn(urlSigner, 'getCanonicalRequest');
  const [url] = await file.getSignedUrl(config);
  const canonicalRequest = spy.mock.results[0]?.value as string;
  spy.mockRestore();
  expect(blobs).toHaveLength(2);
  expect(blobs[0]).toBe(blobs[1]);
  return { url, stringToSign: blobs[1]!, canonicalRequest };
}

const NAMES = [
  'kid_abc/0123456789abcdef',
  'photos/summer 2024/beach day.png',
  'tilde~dash-dot.under_score/x',
  'ünïcødé/名前/😀 emoji.jpg',
  "reserved/!'()*+,;=:@&$?#[]%/end",
  'deep/ly/nest/ed/path/of/many/seg/ments',
];
const ENDPOINTS: Array<string | undefined> = [undefined, 'http://127.0.0.1:4443', 'https://gcs.example.internal:8443'];
// Chosen in the future so the library accepts them as expiry bases, with single-digit fields to pad.
const DATES = [new Date('2031-02-03T04:05:06.789Z'), new Date('2030-12-31T23:59:59.000Z')];

describe('V4 canonical request and string-to-sign match @google-cloud/storage byte for byte', () => {
  const cases = NAMES.flatMap((name) =>
    ENDPOINTS.flatMap((endpoint) => DATES.map((date) => ({ name, endpoint, date }))),
  );

  test.each(cases)('$name on $endpoint at $date', async ({ name, endpoint, date }) => {
    const bucket = 'kinbase-test-bucket_1.x';
    const expiresInSeconds = 3600;
    const reference = await librarySigns(endpoint, bucket, name, date, expiresInSeconds);
    const input: V4UrlInput = {
      algorithm: 'GOOG4-RSA-SHA256',
      method: 'GET',
      endpoint: endpoint ?? 'https://storage.googleapis.com',
      bucket,
      objectName: name,
      accessId: CLIENT_EMAIL,
      signedAt: new Date(Math.floor(date.getTime() / 1000) * 1000),
      expiresInSeconds,
    };
    const canonicalRequest = buildCanonicalRequest(input);
    expect(Buffer.from(canonicalRequest).equals(Buffer.from(reference.canonicalRequest))).toBe(true);
    const stringToSign = buildStringToSign(input, canonicalRequest);
    expect(Buffer.from(stringToSign).equals(Buffer.from(reference.stringToSign))).toBe(true);
    // RSASSA-PKCS1-v1_5 is deterministic, so with the same key the whole URL must match too.
    const signature = rsaSign('sha256', Buffer.from(stringToSign, 'utf8'), privateKey).toString('hex');
    expect(signedUrl(input, signature)).toBe(reference.url);
  });

  test('the maximum lifetime (seven days) signs like the library, one second more is refused', async () => {
    const date = DATES[0]!;
    const reference = await librarySigns(undefined, 'b', 'o', date, 604800);
    const input: V4UrlInput = {
      algorithm: 'GOOG4-RSA-SHA256',
      method: 'GET',
      endpoint: 'https://storage.googleapis.com',
      bucket: 'b',
      objectName: 'o',
      accessId: CLIENT_EMAIL,
      signedAt: date,
      expiresInSeconds: 604800,
    };
    expect(buildStringToSign(input, buildCanonicalRequest(input))).toBe(reference.stringToSign);
    expect(() => buildCanonicalRequest({ ...input, expiresInSeconds: 604801 })).toThrow(RangeError);
    expect(() => buildCanonicalRequest({ ...input, expiresInSeconds: 0 })).toThrow(RangeError);
  });
});

describe('GOOG4-HMAC-SHA256', () => {
  const secret = 'bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ';
  const input: V4UrlInput = {
    algorithm: 'GOOG4-HMAC-SHA256',
    method: 'GET',
    endpoint: 'https://storage.googleapis.com',
    bucket: 'my-bucket',
    objectName: 'kid_1/a b~ü.png',
    accessId: 'GOOG1EXAMPLEACCESSID',
    signedAt: new Date('2031-02-03T04:05:06Z'),
    expiresInSeconds: 900,
  };
  // Written out by hand from the spec: encoded path, sorted encoded query, host header + blank line.
  const expectedCanonicalRequest = [
    'GET',
    '/my-bucket/kid_1/a%20b~%C3%BC.png',
    'X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=GOOG1EXAMPLEACCESSID%2F20310203%2Fauto%2Fstorage%2Fgoog4_request' +
      '&X-Goog-Date=20310203T040506Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host',
    'host:storage.googleapis.com',
    '',
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');

  function expectedSignature(): string {
    const mac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
    const kDate = mac(`GOOG4${secret}`, '20310203');
    const kRegion = mac(kDate, 'auto');
    const kService = mac(kRegion, 'storage');
    const kSigning = mac(kService, 'goog4_request');
    const stringToSign = `GOOG4-HMAC-SHA256\n20310203T040506Z\n20310203/auto/storage/goog4_request\n${createHash('sha256').update(expectedCanonicalRequest).digest('hex')}`;
    return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  }

  test('the signature equals the vector derived step by step from the spec', () => {
    const canonicalRequest = buildCanonicalRequest(input);
    expect(canonicalRequest).toBe(expectedCanonicalRequest);
    const signature = signHmac(secret, input.signedAt, buildStringToSign(input, canonicalRequest));
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signature).toBe(expectedSignature());
  });

  test('the URL carries exactly the six X-Goog parameters, decoding to the signed values', () => {
    const signature = signHmac(secret, input.signedAt, buildStringToSign(input, buildCanonicalRequest(input)));
    const url = new URL(signedUrl(input, signature));
    expect(url.origin + url.pathname).toBe('https://storage.googleapis.com/my-bucket/kid_1/a%20b~%C3%BC.png');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'X-Goog-Algorithm': 'GOOG4-HMAC-SHA256',
      'X-Goog-Credential': 'GOOG1EXAMPLEACCESSID/20310203/auto/storage/goog4_request',
      'X-Goog-Date': '20310203T040506Z',
      'X-Goog-Expires': '900',
      'X-Goog-SignedHeaders': 'host',
      'X-Goog-Signature': expectedSignature(),
    });
    expect([...url.searchParams.keys()]).toHaveLength(6);
  });

  test('a different secret, date or object gives a different signature', () => {
    const sig = (i: V4UrlInput, s = secret): string =>
      signHmac(s, i.signedAt, buildStringToSign(i, buildCanonicalRequest(i)));
    const base = sig(input);
    expect(sig(input, `${secret}x`)).not.toBe(base);
    expect(sig({ ...input, signedAt: new Date('2031-02-04T04:05:06Z') })).not.toBe(base);
    expect(sig({ ...input, objectName: 'kid_1/other.png' })).not.toBe(base);
  });
});
