import { StoreError } from '../../domain/ports';

/**
 * The largest answer one read of a document store builds, in characters of JSON (32 MiB): lists
 * and `_group` answers share it, so no single request makes the process hold more than this.
 * More is StoreError('too-large'), which the client sees as 400 ResultSetSizeExceeded.
 */
export const DEFAULT_MAX_RESULT_BYTES = 32 * 1024 * 1024;

/**
 * Collects one answer, refusing it with StoreError('too-large') once what it holds exceeds the
 * byte budget. Each adapter charges its own measure of a document: the embedded store the
 * characters of its stored JSON, the MongoDB store the bytes of BSON the server sent.
 */
export class Budget {
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}
  /** Adds `length` bytes to the answer; throws StoreError('too-large') past the budget. */
  charge(length: number): void {
    this.bytes += length;
    if (this.bytes > this.maxBytes) {
      throw new StoreError(
        'too-large',
        `the result holds more than ${Math.round(this.maxBytes / 1048576)} MB of documents; page with limit and skip`,
      );
    }
  }
}
