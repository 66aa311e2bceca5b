/**
 * Bytes into one S3 object, part by part: one PutObject when everything fits in a part, else a
 * multipart upload (CreateMultipartUpload on the first full part, UploadPart per part, Complete at
 * the end, Abort on failure). Parts are whole buffers of `partSize` bytes (at least 5 MiB, S3's
 * minimum for every part but the last); at most one part is buffered while the previous one is
 * being sent, so a body of any size holds about two parts of memory.
 */
import type { Readable } from 'node:stream';
import { StoreError } from '../../../domain/ports';
import { escapeXml, readText, S3Error, xmlValue, type S3Client } from './s3-client';

export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
export const MAX_PARTS = 10_000;

/** A part S3 acknowledged. */
export interface UploadedPart {
  n: number;
  etag: string;
  size: number;
}

/** The state of one multipart upload: resumable from a record (see s3-upload-sessions.ts). */
export interface MultipartState {
  uploadId?: string;
  parts: UploadedPart[];
}

/**
 * The part size for an object of `size` bytes (unknown: the default): big enough that the object
 * needs at most 10,000 parts, rounded up to a whole MiB.
 */
export function partSizeFor(size: number | undefined, minimum = DEFAULT_PART_BYTES): number {
  const floor = Math.max(minimum, MIN_PART_BYTES);
  if (size === undefined) return floor;
  const mib = 1024 * 1024;
  return Math.max(floor, Math.ceil(size / MAX_PARTS / mib) * mib);
}

export class MultipartWriter {
  private inFlight: Promise<void> | null = null;

  /**
   * `headers` are the object's (Content-Type, Content-Disposition), sent when it is created;
   * `state` is updated in place as parts are acknowledged, `onPart` called after each.
   */
  constructor(
    private readonly client: S3Client,
    private readonly key: string,
    private readonly headers: Record<string, string>,
    readonly state: MultipartState,
    private readonly onPart: (state: MultipartState) => Promise<void> = async () => {},
  ) {}

  private async ensureUpload(): Promise<string> {
    if (this.state.uploadId) return this.state.uploadId;
    const { text } = await this.client.call({
      method: 'POST',
      key: this.key,
      query: { uploads: '' },
      headers: this.headers,
    });
    const uploadId = xmlValue(text, 'UploadId');
    if (!uploadId) throw new StoreError('unavailable', `S3 opened a multipart upload of ${this.key} without an id`);
    this.state.uploadId = uploadId;
    return uploadId;
  }

  /**
   * Sends one full part. Waits while the previous part is still being sent (so at most one part is
   * in flight besides the one being filled), then starts this one and returns; `drain` waits for it.
   */
  async addPart(chunks: Buffer[]): Promise<void> {
    await this.drain();
    // The previous part was acknowledged (drained above), so numbering follows the state.
    const n = this.state.parts.length + 1;
    if (n > MAX_PARTS) throw new StoreError('invalid', `the object would need more than ${MAX_PARTS} parts`);
    const size = chunks.reduce((sum, c) => sum + c.length, 0);
    this.inFlight = (async () => {
      const uploadId = await this.ensureUpload();
      const { headers } = await this.client.call({
        method: 'PUT',
        key: this.key,
        query: { partNumber: String(n), uploadId },
        body: chunks,
      });
      const etag = String(headers.etag ?? '');
      this.state.parts.push({ n, etag, size });
      await this.onPart(this.state);
    })();
    // Marked handled: a failure surfaces at the next drain, or is dropped by abort.
    this.inFlight.catch(() => undefined);
  }

  /** Waits for the part in flight; rethrows its failure. */
  async drain(): Promise<void> {
    const flight = this.inFlight;
    this.inFlight = null;
    if (flight) await flight;
  }

  /**
   * Writes the last bytes and makes the object: a single PutObject when no part was sent, else
   * the last part (if any bytes) and CompleteMultipartUpload.
   */
  async finish(last: Buffer[]): Promise<void> {
    await this.drain();
    const size = last.reduce((sum, c) => sum + c.length, 0);
    if (!this.state.uploadId && this.state.parts.length === 0) {
      await this.client.call({ method: 'PUT', key: this.key, headers: this.headers, body: last });
      return;
    }
    if (size > 0 || this.state.parts.length === 0) {
      await this.addPart(last);
      await this.drain();
    }
    const uploadId = await this.ensureUpload();
    const body = Buffer.from(
      `<CompleteMultipartUpload>${this.state.parts
        .map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
        .join('')}</CompleteMultipartUpload>`,
    );
    const res = await this.client.send({ method: 'POST', key: this.key, query: { uploadId }, body });
    // S3 may answer 200 and report the failure in the body (it keeps the connection alive meanwhile).
    const text = await readText(res);
    if (/<Error>/.test(text)) {
      throw new S3Error(res.statusCode ?? 200, xmlValue(text, 'Code') ?? 'Error', `completing ${this.key} failed`);
    }
  }

  /** Aborts the multipart upload, if one was opened (best effort: S3 or a lifecycle rule cleans up). */
  async abort(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    this.inFlight = null;
    await abortMultipart(this.client, this.key, this.state.uploadId);
  }
}

/** Aborts one multipart upload; a missing one is fine, and a failure is left to the bucket's lifecycle. */
export async function abortMultipart(client: S3Client, key: string, uploadId: string | undefined): Promise<void> {
  if (!uploadId) return;
  await client.call({ method: 'DELETE', key, query: { uploadId }, accept: [404] }).catch(() => undefined);
}

/**
 * Streams `body` into `writer`: whole parts are sent as they fill; `buffered.chunks` holds the rest
 * (fewer than `partSize` bytes, starting right after the last part sent), also when the stream
 * fails. `onChunk` sees every chunk in order (hashing, counting), may make the stream wait by
 * returning a promise, and may refuse it by throwing.
 */
export async function pumpParts(
  body: AsyncIterable<Buffer> | Readable,
  writer: MultipartWriter,
  partSize: number,
  buffered: { chunks: Buffer[] },
  onChunk: (chunk: Buffer) => Promise<void> | undefined,
): Promise<void> {
  let size = buffered.chunks.reduce((sum, c) => sum + c.length, 0);
  for await (const raw of body as AsyncIterable<Buffer>) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const waiting = onChunk(chunk);
    if (waiting) await waiting;
    buffered.chunks.push(chunk);
    size += chunk.length;
    while (size >= partSize) {
      // Cut exactly one part; the remainder of the chunk starts the next.
      const part: Buffer[] = [];
      let need = partSize;
      while (need > 0) {
        const head = buffered.chunks[0] as Buffer;
        if (head.length <= need) {
          part.push(head);
          buffered.chunks.shift();
          need -= head.length;
        } else {
          part.push(head.subarray(0, need));
          buffered.chunks[0] = head.subarray(need);
          need = 0;
        }
      }
      size -= partSize;
      await writer.addPart(part);
    }
  }
  await writer.drain();
}
