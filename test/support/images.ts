/**
 * Image files for the image variant tests: real photos made with sharp (EXIF orientation, GPS),
 * hostile inputs (a PNG declaring 100,000 x 100,000 pixels, a truncated JPEG, an SVG), and the
 * upload of one file through the API and its upload URL, on any object backend.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import request from 'supertest';
import type { TestApp } from './test-app';

/** A `width` x `height` JPEG with a gradient, EXIF orientation `orientation` and GPS coordinates. */
export async function makePhoto(width: number, height: number, orientation = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) raw.set([(x * 255) / width, (y * 255) / height, 128], (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .withMetadata({
      orientation,
      exif: {
        IFD0: { Make: 'KinbaseCam', Model: 'Test' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' },
      },
    })
    .toBuffer();
}

/**
 * A small, valid-looking PNG whose header declares `width` x `height` pixels (a decompression
 * bomb: decoding it would need width * height * 3 bytes).
 */
export function pngDeclaring(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + width * 3);
  // A few rows of zeros compress to almost nothing; the rest never comes.
  const idat = deflateSync(Buffer.concat([row, row, row]));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(data: Buffer): number {
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

export interface UploadedFile {
  _id: string;
}

/**
 * Creates a file (POST /blob) and sends its bytes in one request to the upload URL, as the SDKs
 * do, on the local backend or GCS. Returns the file's id.
 */
export async function uploadFile(
  t: TestApp,
  auth: string,
  bytes: Buffer,
  mimeType: string,
  metadata: Record<string, unknown> = {},
): Promise<string> {
  const created = await request(t.app)
    .post(`/blob/${t.appKey}`)
    .set('Authorization', auth)
    .set('X-Kinvey-Content-Type', mimeType)
    .send({ mimeType, size: bytes.length, ...metadata });
  if (created.status !== 201) throw new Error(`POST /blob answered ${created.status}: ${created.text}`);
  await sendBytes(created.body as { _uploadURL: string; _requiredHeaders: Record<string, string> }, bytes, mimeType);
  return (created.body as UploadedFile)._id;
}

/** Sends all bytes to an upload URL (of a POST or PUT /blob answer). */
export async function sendBytes(
  ticket: { _uploadURL: string; _requiredHeaders: Record<string, string> },
  bytes: Buffer,
  mimeType: string,
): Promise<void> {
  const sent = await fetch(ticket._uploadURL, {
    method: 'PUT',
    headers: {
      ...ticket._requiredHeaders,
      'Content-Type': mimeType,
      'Content-Range': `bytes 0-${bytes.length - 1}/${bytes.length}`,
    },
    body: bytes,
  });
  if (sent.status !== 200 && sent.status !== 201) throw new Error(`the upload answered ${sent.status}`);
}

/** Follows a URL (redirects included) and returns the status and bytes. */
export async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}
