/**
 * Streaming NDJSON with checksums: a writer that hashes what it writes, and a reader that yields
 * one line at a time with its number, hashing what it reads. Memory is one line (capped) plus the
 * stream's buffers, whatever the file size.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { encodeDocument } from './format';

/** The longest line read back: a stored document is far smaller (MongoDB's own cap is 16 MiB). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export class NdjsonWriter {
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  lines = 0;

  constructor(file: string) {
    this.out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  }

  /** Appends one document; waits when the file stream is full (backpressure). */
  async write(doc: unknown): Promise<void> {
    const chunk = Buffer.from(`${encodeDocument(doc)}\n`, 'utf8');
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.lines++;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  /** Appends documents as one write (a page of a collection); waits on backpressure. */
  async writeMany(docs: readonly unknown[]): Promise<void> {
    if (docs.length === 0) return;
    const chunk = Buffer.from(`${docs.map(encodeDocument).join('\n')}\n`, 'utf8');
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.lines += docs.length;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  /** Flushes and closes the file; returns its checksum. */
  async close(): Promise<{ sha256: string; bytes: number; lines: number }> {
    this.out.end();
    await once(this.out, 'close');
    return { sha256: this.hash.digest('hex'), bytes: this.bytes, lines: this.lines };
  }
}

/** A line that cannot be read: which line of which file, and why. */
export class LineError extends Error {
  constructor(
    readonly line: number,
    why: string,
  ) {
    super(`line ${line}: ${why}`);
  }
}

/**
 * Yields every line of `file` (without its newline) with its 1-based number; `hash` sees every
 * byte. A last line without a newline is a truncated file: LineError, never a partial document.
 */
export async function* readLines(file: string, hash?: Hash): AsyncGenerator<{ line: number; text: string }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    hash?.update(chunk);
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      line++;
      const piece = chunk.subarray(start, nl);
      const text = pendingBytes > 0 ? Buffer.concat([...pending, piece]).toString('utf8') : piece.toString('utf8');
      pending = [];
      pendingBytes = 0;
      yield { line, text };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw new LineError(line + 1, `longer than ${MAX_LINE_BYTES} bytes`);
      pending.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (pendingBytes > 0) throw new LineError(line + 1, 'truncated (the file ends in the middle of a line)');
}
