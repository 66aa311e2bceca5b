/**
 * Both official SDKs against the built server on S3 storage (versitygw, started by this suite):
 * Files.upload runs the SDKs' resumable dance against kinbase's upload URL, which streams the
 * bytes into the bucket; downloads and KinveyFile references come back as presigned bucket URLs.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import { runServerToExit, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/temp-dirs';
import { createTestS3Bucket, startVersitygw, TEST_S3_CREDENTIALS } from '../support/versitygw';

const APP = {
  appKey: 'kid_sdk_s3',
  appSecret: 'sdk-s3-app-secret',
  masterSecret: 'sdk-s3-master-secret',
  name: 'SDK e2e on S3',
};
const READONLY_COLLECTION = 'announcements';
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;
type Sdk = (typeof SDKS)[number];

describe('the official Kinvey SDKs with files on S3 (versitygw)', () => {
  let dataDir: string;
  let server: ServerProcess;
  let gateway: { endpoint: string; stop: () => Promise<void> } | undefined;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    gateway = await startVersitygw();
    ({ server, dataDir } = await startSdkServer(
      [{ ...APP, collections: { [READONLY_COLLECTION]: { permissions: 'read-only' } } }],
      'kinbase-sdk-s3-',
      {
        KINBASE_STORAGE: 's3',
        S3_BUCKET: await createTestS3Bucket(gateway.endpoint),
        S3_ENDPOINT: gateway.endpoint,
        S3_REGION: TEST_S3_CREDENTIALS.region,
        S3_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      },
    ));
    await Promise.all(
      SDKS.map(async (sdk) =>
        results.set(
          sdk,
          await runFlowScript(
            path.join(__dirname, 'clients', `${sdk}.flows.js`),
            { KINBASE_URL: server.baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret, READONLY_COLLECTION },
            40_000,
          ),
        ),
      ),
    );
  }, 55_000);

  afterAll(async () => {
    if (server) await server.stop();
    await gateway?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function seen<T = Record<string, unknown>>(sdk: Sdk, flow: string): T {
    const result = results.get(sdk)?.get(flow);
    if (!result) throw new Error(`${sdk} did not report the flow "${flow}"`);
    if (result.error) throw new Error(`${sdk} flow "${flow}" failed: ${JSON.stringify(result.error)}`);
    return result.value as T;
  }

  describe.each(SDKS)('%s', (sdk) => {
    test('Files.upload runs the resumable dance against kinbase, which stores the bytes in the bucket', () => {
      const v = seen(sdk, 'Files.upload (public, resumable)');
      expect(v).toMatchObject({ _public: true, mimeType: sdk === 'js-sdk-7' ? 'image/png' : 'text/plain' });
      expect(v.size).toBeGreaterThan(0);
    });

    test('Files.stream and Files.download return byte-identical content from the bucket', () => {
      expect(seen(sdk, 'Files.stream')).toMatchObject({ status: 200, identical: true });
      expect(seen(sdk, 'Files.download')).toMatchObject({ identical: true });
    });

    test('Files.find lists the upload with download URLs, and Files.removeById removes it', () => {
      expect(seen(sdk, 'Files.find by mimeType')).toEqual({
        includesUpload: true,
        allMatch: true,
        allHaveDownloadURL: true,
      });
      expect(seen<{ removed: unknown }>(sdk, 'Files.removeById').removed).toEqual({ count: 1 });
    });

    test('a KinveyFile reference in a found entity arrives resolved with a working bucket URL', () => {
      expect(seen(sdk, 'reference arrives resolved')).toEqual({
        _type: 'KinveyFile',
        _id: seen(sdk, 'Files.upload (public, resumable)')._id,
        hasDownloadURL: true,
        status: 200,
        identical: true,
      });
    });
  });
});

describe('starting on S3', () => {
  test('a bucket that does not exist stops the start with one line naming bucket and endpoint, never the secret', async () => {
    const gateway = await startVersitygw();
    try {
      const secret = TEST_S3_CREDENTIALS.secretAccessKey;
      const { code, output } = await runServerToExit({
        PORT: '0',
        KINBASE_DATA_DIR: makeTempDir('kinbase-s3-start-'),
        KINBASE_STORAGE: 's3',
        S3_BUCKET: 'kinbase-missing-bucket',
        S3_ENDPOINT: gateway.endpoint,
        S3_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: secret,
        S3_FORCE_PATH_STYLE: 'true',
      });
      expect(code).toBe(1);
      expect(output).toContain(
        `kinbase: S3 bucket "kinbase-missing-bucket" at ${gateway.endpoint}/kinbase-missing-bucket does not exist\n`,
      );
      expect(output).not.toContain(secret);
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      await gateway.stop();
    }
  });
});
