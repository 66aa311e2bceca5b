import type { BenchDoc, IndexedField } from './workload';

/** How a single-document write is committed. */
export type Commit =
  /** Safe against a crash of the process (the OS has the bytes), not against power loss. */
  | 'process'
  /** fsync'd before the call returns: safe against power loss. */
  | 'fsync'
  /** lmdb-js's default: an async write, awaited (commit batched per event turn, fsync overlapped). */
  | 'async';

/**
 * One embedded engine laid out as kinbase would use it: a document table keyed by
 * (collection, _id) holding JSON text, and an index table of (collection, field, key bytes, _id),
 * written together in one transaction. Reads return parsed documents.
 */
export interface Candidate {
  readonly name: string;
  /** Writes the documents and their index rows in one transaction (the bulk path). */
  writeBatch(collection: string, docs: readonly BenchDoc[]): Promise<void>;
  /** The commit modes writeOne supports. */
  readonly commits: readonly Commit[];
  /** Writes one document and its index rows in a transaction of its own. */
  writeOne(collection: string, doc: BenchDoc, commit: Commit): Promise<void>;
  get(collection: string, id: string): unknown;
  /** The documents whose `field` has exactly this key. */
  findEqual(collection: string, field: IndexedField, key: Buffer): unknown[];
  /** The first `limit` documents with `field` >= `from`, in key order. */
  findFrom(collection: string, field: IndexedField, from: Buffer, limit: number): unknown[];
  /** Parses every document of the collection; returns how many there were. */
  scan(collection: string): number;
  /** Flushes (SQLite: checkpoints the WAL) so the files on disk hold everything. */
  settle(): Promise<void>;
  close(): Promise<void>;
}
