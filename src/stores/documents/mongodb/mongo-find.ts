/**
 * Reads of the MongoDB document store as plain `find` / `getMore` commands instead of the driver's
 * cursors. A list of 100 documents through `collection.find().toArray()` paid for the cursor layer
 * (cursor and operation objects, nested async generators, an on-demand view of the reply and one
 * `deserialize` call per document); one command whose reply is deserialized in one pass cost about
 * a third less of kinbase's CPU (bench:store-paths, issue 16). What the cursor gave for free is kept
 * here: the client's read preference and read concern, one retry of a read that failed for a
 * retryable reason (the driver's retryable reads), and every batch until the server closes the
 * cursor (a reply is at most 16 MiB, so a large answer still takes several).
 *
 * Each batch is charged against the answer's byte budget before it is deserialized: the cursor
 * document of a reply arrives as raw BSON, whose length is what the batch adds to the answer, so an
 * answer over the budget is refused (and its cursor killed) holding at most one batch more.
 */
import {
  BSON,
  Long,
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  type Collection,
  type Db,
  type Document,
  type MongoClient,
} from 'mongodb';

/** Charges bytes to an answer; throws (StoreError 'too-large') once the answer is over its budget. */
export interface AnswerBudget {
  charge(bytes: number): void;
}

/** What a find asks for; `maxTimeMS` bounds the server's work for the whole answer. */
export interface FindSpec {
  filter: Document;
  /** Keys in order; sent as a Map because an object would put integer-like field names first. */
  sort?: ReadonlyArray<readonly [string, 1 | -1]>;
  skip?: number;
  limit?: number;
  projection?: Document;
  maxTimeMS: number;
}

interface CursorDocument<T> {
  id: number | Long | bigint;
  firstBatch?: T[];
  nextBatch?: T[];
}

/** A reply asked for with `raw: true`: its embedded documents, the cursor among them, stay BSON. */
interface RawCursorReply {
  cursor: Uint8Array;
}

/**
 * Reply options: the driver's defaults for documents (so a document reads exactly as through a
 * cursor), without its per-string UTF-8 validation (see READ_OPTIONS in mongo.document-store.ts).
 */
const REPLY_OPTIONS = { enableUtf8Validation: false, ignoreUndefined: true } as const;

/** The same, for a batch kinbase deserializes itself (BSON's defaults are the driver's). */
const BATCH_OPTIONS: BSON.DeserializeOptions = { validation: { utf8: false } };

/**
 * The largest batch asked for: kinbase's largest read (10,000 results + 1), more comes by getMore.
 * Not 2^31 - 1: while a build asked for that, a test run saw FerretDB OOM-killed at 20 GB of RSS
 * (the cause was not isolated); a bounded batch never asks a server for an unbounded reply.
 */
const UNLIMITED_BATCH = 10_001;

/**
 * Runs one `find` on `collection` (of `db`) and returns every matching document, following the
 * cursor with `getMore` while the server keeps it open. Every batch's BSON bytes are charged to
 * `budget` before the batch is read, so its error (too-large) stops the answer. Throws the driver's
 * errors untranslated; a read that failed for a retryable reason (network, failover) is run once
 * more, as the driver's retryable reads would. An abandoned cursor (an error or a refusal after the
 * first reply) is killed.
 */
export async function findAll<T extends Document>(
  client: MongoClient,
  db: Db,
  collection: Collection<T>,
  spec: FindSpec,
  budget: AnswerBudget,
): Promise<T[]> {
  const command: Document = { find: collection.collectionName, filter: spec.filter };
  if (spec.sort !== undefined) command.sort = new Map(spec.sort);
  if (spec.projection !== undefined) command.projection = spec.projection;
  if (spec.skip) command.skip = spec.skip;
  if (spec.limit) command.limit = spec.limit;
  // One more than the limit, as the driver does: a batch exactly as large as the limit leaves the
  // cursor open on some servers (FerretDB), which would cost a getMore that returns nothing.
  command.batchSize = spec.limit && spec.limit < UNLIMITED_BATCH ? spec.limit + 1 : UNLIMITED_BATCH;
  command.maxTimeMS = spec.maxTimeMS;
  const readConcern = collection.readConcern;
  if (readConcern) command.readConcern = readConcern.toJSON();
  const options = { ...REPLY_OPTIONS, raw: true, readPreference: collection.readPreference };

  let reply = await withReadRetry(client, () => db.command(command, options) as Promise<RawCursorReply>);
  const documents: T[] = [];
  let id: number | Long | bigint = 0;
  try {
    for (;;) {
      id = cursorIdOf(reply.cursor);
      budget.charge(reply.cursor.byteLength);
      const cursor = BSON.deserialize(reply.cursor, BATCH_OPTIONS) as CursorDocument<T>;
      for (const doc of cursor.firstBatch ?? cursor.nextBatch ?? []) documents.push(doc);
      if (isZero(id)) return documents;
      // No maxTimeMS here: the server applies the find's limit to the whole cursor, and refuses it on a getMore.
      reply = (await db.command(
        { getMore: toLong(id), collection: collection.collectionName, batchSize: UNLIMITED_BATCH },
        options,
      )) as RawCursorReply;
    }
  } catch (err) {
    if (!isZero(id))
      await db
        .command({ killCursors: collection.collectionName, cursors: [toLong(id)] }, options)
        .catch(() => undefined);
    throw err;
  }
}

/**
 * The id of a raw cursor document, read without deserializing its batch (with `raw`, the batch's
 * documents are only sliced, not read).
 */
function cursorIdOf(cursor: Uint8Array): number | Long | bigint {
  return (BSON.deserialize(cursor, { raw: true }) as CursorDocument<never>).id;
}

// The driver's retryable read error codes (retryable-reads spec), which it does not export.
const RETRYABLE_READ_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436, 262, 134]);

function isRetryableRead(err: unknown): boolean {
  if (!(err instanceof MongoError)) return false;
  if (err instanceof MongoNetworkError) return true;
  if (err.hasErrorLabel(MongoErrorLabel.RetryableError)) return true;
  return typeof err.code === 'number' && RETRYABLE_READ_CODES.has(err.code);
}

/** One more attempt after a retryable failure, unless the client was configured with retryReads=false. */
async function withReadRetry<T>(client: MongoClient, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (client.options.retryReads === false || !isRetryableRead(err)) throw err;
    return read();
  }
}

function isZero(id: number | Long | bigint): boolean {
  if (typeof id === 'number') return id === 0;
  if (typeof id === 'bigint') return id === 0n;
  return id.isZero();
}

/** Cursor ids are int64 on the wire; the reply promotes the small ones to numbers, which getMore refuses. */
function toLong(id: number | Long | bigint): Long {
  if (typeof id === 'number') return Long.fromNumber(id);
  if (typeof id === 'bigint') return Long.fromBigInt(id);
  return id;
}
