/**
 * The largest answer one read of a document store builds, in characters of JSON (32 MiB): lists
 * and `_group` answers share it, so no single request makes the process hold more than this.
 * More is StoreError('too-large'), which the client sees as 400 ResultSetSizeExceeded.
 */
export const DEFAULT_MAX_RESULT_BYTES = 32 * 1024 * 1024;
