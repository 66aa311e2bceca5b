/**
 * What only the S3 store does, against versitygw: multipart uploads streamed part by part through
 * kinbase's upload route, resuming after a dropped connection, aborting multipart uploads on
 * delete and sweep, and the checks of the bucket at start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { uploadRoutes } from '../../src/http/routes/storage/storage.routes';
import { S3Client, xmlBlocks } from '../../src/stores/objects/s3/s3-client';
import { S3ObjectStore } from '../../src/stores/objects/s3/s3.object-store';
import { StoreStartError } from '../../src/stores/store-start-error';
import { createTestS3Bucket, TEST_S3_CREDENTIALS, testS3Endpoint } from '../support/versitygw';
import { newKey, readAll } from './object-store.contract';

const MiB = 1024 * 1024;
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

interface Harness {
  store: S3ObjectStore;
  s3: S3Client;
  sessionsDir: string;
  close(): Promise<void>;
}

async function open(): Promise<Harness> {
  const endpoint = testS3Endpoint();
  const bucket = await createTestS3Bucket(endpoint);
  const sessionsDir = await mkdtemp(path.join(tmpdir(), 'kinbase-s3-sessions-'));
  const app = express();
  const holder: { routes?: express.Router } = {};
  app.use((req, res, next) => (holder.routes ? holder.routes(req, res, next) : next()));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const store = await S3ObjectStore.open({
    ...TEST_S3_CREDENTIALS,
    bucket,
    endpoint,
    forcePathStyle: true,
    kinbaseUrl: `http://127.0.0.1:${address.port}`,
    signingSecret: randomBytes(32).toString('hex'),
    sessionsDir,
    partSizeBytes: 5 * MiB,
  });
  holder.routes = uploadRoutes(store);
  const s3 = new S3Client({ ...TEST_S3_CREDENTIALS, endpoint, bucket, forcePathStyle: true });
  return {
    store,
    s3,
    sessionsDir,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      s3.close();
      await rm(sessionsDir, { recursive: true, force: true });
    },
  };
}

let h: Harness;
beforeEach(async () => {
  h = await open();
});
afterEach(async () => h.close());

/** The multipart uploads the bucket holds open (ListMultipartUploads). */
async function openMultipartUploads(): Promise<string[]> {
  const { text } = await h.s3.call({ method: 'GET', query: { uploads: '' } });
  return xmlBlocks(text, 'Upload');
}

/** The sizes of the parts S3 holds for the only open multipart upload of `key` (ListParts). */
async function partSizes(key: string): Promise<number[]> {
  const [upload] = await openMultipartUploads();
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(upload ?? '')?.[1];
  if (!uploadId) return [];
  const { text } = await h.s3.call({ method: 'GET', key, query: { uploadId } });
  return xmlBlocks(text, 'Part').map((part) => Number(/<Size>(\d+)<\/Size>/.exec(part)?.[1]));
}

async function session(key: string, size: number): Promise<string> {
  const target = await h.store.createUploadSession(key, {
    contentType: 'video/mp4',
    size,
    expiresAt: new Date(Date.now() + 600_000),
    closesAt: new Date(Date.now() + 3_600_000),
    filename: 'clip.mp4',
  });
  return target.url;
}

function putChunk(url: string, data: Buffer, start: number, total: number): Promise<Response> {
  return fetch(url, {
    method: 'PUT',
    redirect: 'manual',
    headers: { 'content-type': 'video/mp4', 'content-range': `bytes ${start}-${start + data.length - 1}/${total}` },
    body: data,
  });
}

async function probe(url: string, total: number): Promise<{ status: number; received: number }> {
  const res = await fetch(url, { method: 'PUT', redirect: 'manual', headers: { 'content-range': `bytes */${total}` } });
  const range = res.headers.get('range');
  return { status: res.status, received: range ? Number(/bytes=0-(\d+)/.exec(range)?.[1]) + 1 : 0 };
}

test('chunks smaller than a part wait on disk, full parts go to S3 as they fill, and the finished object is byte-identical', async () => {
  const data = randomBytes(11 * MiB + 7);
  const key = newKey();
  const url = await session(key, data.length);
  const chunk = 3 * MiB;
  expect((await putChunk(url, data.subarray(0, chunk), 0, data.length)).status).toBe(308);
  // 3 MiB: less than a part, nothing sent to S3 yet; the bytes wait in the session's tail file.
  expect(await partSizes(key)).toEqual([]);
  expect((await putChunk(url, data.subarray(chunk, 2 * chunk), chunk, data.length)).status).toBe(308);
  // 6 MiB: one 5 MiB part is in S3 before the upload ends (no whole-file buffering), 1 MiB waits.
  expect(await partSizes(key)).toEqual([5 * MiB]);
  expect(await probe(url, data.length)).toEqual({ status: 308, received: 2 * chunk });
  expect((await putChunk(url, data.subarray(2 * chunk), 2 * chunk, data.length)).status).toBe(200);
  expect(await h.store.stat(key)).toMatchObject({ size: data.length, md5: md5(data), contentType: 'video/mp4' });
  expect((await readAll(await h.store.read(key)))?.equals(data)).toBe(true);
  expect(await openMultipartUploads()).toEqual([]);
});

test('a chunk whose connection drops keeps the parts S3 acknowledged, and the upload resumes from the probe', async () => {
  const data = randomBytes(12 * MiB);
  const key = newKey();
  const url = await session(key, data.length);
  // 7 MiB of a 12 MiB chunk, then the connection breaks.
  await new Promise<void>((resolve) => {
    const req = httpRequest(url, {
      method: 'PUT',
      headers: {
        'content-type': 'video/mp4',
        'content-range': `bytes 0-${data.length - 1}/${data.length}`,
        'content-length': String(data.length),
      },
    });
    req.on('error', () => resolve());
    req.write(data.subarray(0, 7 * MiB), () => setTimeout(() => req.destroy(), 300));
  });
  // The server notices the break on its own time: until then a probe may show fewer bytes than
  // it ends up keeping, and a resume sent too early is answered 308 with the new Range, as a client
  // resuming by the protocol expects. Resume the way the SDKs do: probe, send the rest, repeat.
  const seen: number[] = [];
  let status = 0;
  for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
    const state = await probe(url, data.length);
    expect(state.status).toBe(308);
    seen.push(state.received);
    if (state.received < 5 * MiB) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    status = (await putChunk(url, data.subarray(state.received), state.received, data.length)).status;
  }
  expect(status).toBe(200);
  // The first full part (5 MiB) and possibly the 2 MiB after it survived the break.
  expect(Math.max(...seen)).toBeGreaterThanOrEqual(5 * MiB);
  expect(Math.max(...seen)).toBeLessThanOrEqual(7 * MiB);
  expect(await h.store.stat(key)).toMatchObject({ size: data.length, md5: md5(data) });
  expect((await readAll(await h.store.read(key)))?.equals(data)).toBe(true);
});

test('deleting an object aborts the multipart upload of its pending session, whose URL then answers 404', async () => {
  const data = randomBytes(6 * MiB);
  const key = newKey();
  const url = await session(key, 20 * MiB);
  expect((await putChunk(url, data, 0, 20 * MiB)).status).toBe(308);
  expect(await openMultipartUploads()).toHaveLength(1);
  await h.store.delete(key);
  expect(await openMultipartUploads()).toEqual([]);
  expect((await probe(url, 20 * MiB)).status).toBe(404);
});

test('the sweep aborts the multipart uploads of sessions past their deadline and removes their files', async () => {
  const key = newKey();
  const url = await session(key, 20 * MiB);
  expect((await putChunk(url, randomBytes(6 * MiB), 0, 20 * MiB)).status).toBe(308);
  expect(await h.store.sweepUploadSessions(new Date())).toBe(0);
  expect(await openMultipartUploads()).toHaveLength(1);
  expect(await h.store.sweepUploadSessions(new Date(Date.now() + 3 * 3_600_000))).toBe(1);
  expect(await openMultipartUploads()).toEqual([]);
  const id = new URL(url).pathname.split('/').pop() as string;
  await expect(stat(path.join(h.sessionsDir, `${id}.tail`))).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(stat(path.join(h.sessionsDir, `${id}.json`))).rejects.toMatchObject({ code: 'ENOENT' });
});

describe('the bucket is checked at start', () => {
  const base = () => ({
    ...TEST_S3_CREDENTIALS,
    endpoint: testS3Endpoint(),
    forcePathStyle: true,
    kinbaseUrl: 'http://127.0.0.1:1',
    signingSecret: 'x'.repeat(32),
    sessionsDir: h.sessionsDir,
  });

  test('a bucket that does not exist is reported with its name and endpoint', async () => {
    const opening = S3ObjectStore.open({ ...base(), bucket: 'kinbase-no-such-bucket' });
    await expect(opening).rejects.toBeInstanceOf(StoreStartError);
    await expect(opening).rejects.toThrow(
      `S3 bucket "kinbase-no-such-bucket" at ${testS3Endpoint()}/kinbase-no-such-bucket does not exist`,
    );
  });

  test('credentials the server refuses are reported with bucket, endpoint and key id, never the secret', async () => {
    const secret = 'wrong-secret-that-must-not-be-printed';
    const bucket = await createTestS3Bucket(testS3Endpoint());
    const err = (await S3ObjectStore.open({ ...base(), bucket, secretAccessKey: secret }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(StoreStartError);
    expect(err.message).toContain(`S3 bucket "${bucket}" at ${testS3Endpoint()}/${bucket} refuses the credentials`);
    expect(err.message).toContain(TEST_S3_CREDENTIALS.accessKeyId);
    expect(err.message).not.toContain(secret);
  });
});
