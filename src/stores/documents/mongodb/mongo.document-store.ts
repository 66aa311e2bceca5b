/**
 * The MongoDB document store (official driver): one database per app (`<dbPrefix><appKey>`), one
 * MongoDB collection per Kinvey collection. Works with any wire-compatible server. `_id` is always
 * the client's string; the driver never generates or coerces ObjectIds here.
 */
import { BSON, MongoClient, type Collection, type Db, type Filter as MongoFilter } from 'mongodb';
import {
  type CollectionScope,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type GroupSpec,
  type GroupStats,
  type IndexSpec,
  type SharedState,
  type StoredDocument,
} from '../../../domain/ports';
import { MongoSharedState } from './mongo.shared-state';
import { GroupAccumulator } from '../mongo-semantics/group-accumulator';
import { translate } from './mongo-errors';
import { findAll } from './mongo-find';
import { applyExtendedRegexOption, normalizeFields } from '../mongo-semantics/matcher';
import { Budget, DEFAULT_MAX_RESULT_BYTES } from '../result-budget';

export interface MongoDocumentStoreOptions {
  url: string;
  /** Prepended to every app key to name that app's database. */
  dbPrefix: string;
  /**
   * Longest silence on a connection before a call fails (`socketTimeoutMS`); default
   * SOCKET_TIMEOUT_MS. Server selection and new connections wait at most the smaller of this and
   * SERVER_SELECTION_TIMEOUT_MS.
   */
  timeoutMs?: number;
  /** Server-side time limit of every query (`maxTimeMS`); default QUERY_TIME_LIMIT_MS. */
  queryTimeLimitMs?: number;
  /**
   * Largest answer of one find, findByIds or group (default 32 MiB, the embedded store's cap on
   * every answer): lists are charged the bytes of BSON the server sends, groups characters of JSON.
   */
  maxResultBytes?: number;
}

/**
 * How long the server may work on one query before it gives up (`maxTimeMS`): a client's query,
 * however expensive, costs the database a bounded amount of time, and the client gets a 400.
 */
export const QUERY_TIME_LIMIT_MS = 5000;

/** A page of `scan` stops once its documents hold this many bytes of BSON (8 MiB). */
const SCAN_PAGE_BYTES = 8 * 1024 * 1024;

/**
 * How long kinbase waits for MongoDB before answering 503 (docs/several-instances.md, "Bounds"):
 * - no reachable server (stopped, refusing, partitioned): SERVER_SELECTION_TIMEOUT_MS to select
 *   one, CONNECT_TIMEOUT_MS for a new connection;
 * - a server that accepted the request and stopped answering (hung, blackholed):
 *   SOCKET_TIMEOUT_MS of silence on the connection, longer than QUERY_TIME_LIMIT_MS so a query
 *   the server is still allowed to run is not cut short by the client.
 * The driver's defaults (30 s to select a server, no socket timeout) let a hung database pile
 * requests up for half a minute or forever.
 */
export const SERVER_SELECTION_TIMEOUT_MS = 3000;
export const CONNECT_TIMEOUT_MS = 3000;
export const SOCKET_TIMEOUT_MS = QUERY_TIME_LIMIT_MS + 3000;

/**
 * Write concern unless the connection string names one (`w=`): acknowledged by a majority of a
 * replica set and journaled, so an acknowledged write survives a failover and a crash.
 */
const DEFAULT_WRITE_CONCERN = { w: 'majority', journal: true } as const;

/**
 * Read options of every query. Strings kinbase stored are valid UTF-8 by construction (JSON bodies
 * with lone surrogates are refused with 400), so the driver's per-string validation of every
 * answer is skipped: it cost about a third of deserializing a list (bench:store-paths).
 */
const READ_OPTIONS = { enableUtf8Validation: false } as const;

interface Handles {
  db: Db;
  collection: Collection<StoredDocument>;
}

export class MongoDocumentStore implements DocumentStore {
  private readonly ensuredIndexes = new Map<string, Promise<void>>();
  /** Database and collection handles by app and name: building them per call showed in profiles of lists. */
  private readonly collections = new Map<string, Handles>();

  private constructor(
    private readonly client: MongoClient,
    private readonly dbPrefix: string,
    private readonly maxTimeMS: number,
    private readonly maxResultBytes: number,
  ) {}

  /** Connects and verifies the server answers. Throws StoreError('unavailable') if it does not. */
  static async connect(options: MongoDocumentStoreOptions): Promise<MongoDocumentStore> {
    const client = new MongoClient(options.url, {
      // Fail a request within seconds when the server is gone or hung, instead of the driver's 30 s.
      serverSelectionTimeoutMS: Math.min(SERVER_SELECTION_TIMEOUT_MS, options.timeoutMs ?? SOCKET_TIMEOUT_MS),
      connectTimeoutMS: Math.min(CONNECT_TIMEOUT_MS, options.timeoutMs ?? SOCKET_TIMEOUT_MS),
      socketTimeoutMS: options.timeoutMs ?? SOCKET_TIMEOUT_MS,
      waitQueueTimeoutMS: Math.min(SERVER_SELECTION_TIMEOUT_MS, options.timeoutMs ?? SOCKET_TIMEOUT_MS),
      ...(/[?&]w=/.test(options.url) ? {} : { writeConcern: DEFAULT_WRITE_CONCERN }),
      ignoreUndefined: true,
      appName: 'kinbase',
    });
    await translate(() => client.connect());
    return new MongoDocumentStore(
      client,
      options.dbPrefix,
      options.queryTimeLimitMs ?? QUERY_TIME_LIMIT_MS,
      options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    );
  }

  async insert(scope: CollectionScope, doc: StoredDocument): Promise<void> {
    // A copy, because insertOne adds fields to the object it is given.
    await translate(() => this.collection(scope).insertOne({ ...doc }));
  }

  async upsert(scope: CollectionScope, doc: StoredDocument): Promise<{ created: boolean }> {
    const result = await translate(() => this.collection(scope).replaceOne({ _id: doc._id }, doc, { upsert: true }));
    return { created: result.upsertedCount > 0 };
  }

  async scan(scope: CollectionScope, after: string | null, limit: number): Promise<StoredDocument[]> {
    const filter = after === null ? {} : { _id: { $gt: after } };
    return translate(async () => {
      const cursor = this.collection(scope).find(filter, {
        sort: { _id: 1 },
        limit,
        batchSize: Math.min(limit, 100),
        maxTimeMS: this.maxTimeMS,
      });
      // A page holds about SCAN_PAGE_BYTES at most, however large the documents (as the embedded store's).
      const page: StoredDocument[] = [];
      let bytes = 0;
      try {
        for await (const doc of cursor) {
          page.push(doc);
          bytes += BSON.calculateObjectSize(doc);
          if (bytes >= SCAN_PAGE_BYTES) break;
        }
      } finally {
        await cursor.close();
      }
      return page;
    });
  }

  async putMany(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void> {
    if (docs.length === 0) return;
    const operations = docs.map((doc) => ({
      replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true },
    }));
    await translate(() => this.collection(scope).bulkWrite(operations, { ordered: true }));
  }

  async replace(scope: CollectionScope, doc: StoredDocument, filter?: Filter): Promise<boolean> {
    const result = await translate(() =>
      this.collection(scope).replaceOne(byId(doc._id, filter), doc, { maxTimeMS: this.maxTimeMS }),
    );
    return result.matchedCount > 0;
  }

  async setFields(
    scope: CollectionScope,
    id: string,
    fields: Record<string, unknown>,
    filter?: Filter,
  ): Promise<boolean> {
    if (Object.keys(fields).length === 0) {
      // MongoDB rejects an empty $set; nothing to change, so only report whether the document exists.
      return (
        (await translate(() =>
          this.collection(scope).countDocuments(byId(id, filter), { limit: 1, maxTimeMS: this.maxTimeMS }),
        )) > 0
      );
    }
    const result = await translate(() =>
      this.collection(scope).updateOne(byId(id, filter), { $set: fields }, { maxTimeMS: this.maxTimeMS }),
    );
    return result.matchedCount > 0;
  }

  async find(scope: CollectionScope, filter: Filter, options: FindOptions = {}): Promise<StoredDocument[]> {
    const fields = options.fields ? normalizeFields(options.fields) : undefined;
    const { db, collection } = this.handles(scope);
    return translate(() =>
      findAll(
        this.client,
        db,
        collection,
        {
          filter: query(filter),
          sort: sortWithTiebreak(options.sort ?? []),
          ...(options.skip ? { skip: options.skip } : {}),
          ...(options.limit ? { limit: options.limit } : {}),
          ...(fields
            ? { projection: Object.fromEntries(['_id', ...fields].map((f): [string, number] => [f, 1])) }
            : {}),
          maxTimeMS: this.maxTimeMS,
        },
        new Budget(this.maxResultBytes),
      ),
    );
  }

  async findByIds(scope: CollectionScope, ids: readonly string[], filter: Filter = {}): Promise<StoredDocument[]> {
    if (ids.length === 0) return [];
    const byIds = { _id: { $in: [...ids] } };
    const combined = Object.keys(filter).length > 0 ? { $and: [byIds, filter] } : byIds;
    const { db, collection } = this.handles(scope);
    return translate(() =>
      findAll(
        this.client,
        db,
        collection,
        { filter: query(combined), maxTimeMS: this.maxTimeMS },
        new Budget(this.maxResultBytes),
      ),
    );
  }

  async count(scope: CollectionScope, filter: Filter): Promise<number> {
    return translate(() => this.collection(scope).countDocuments(query(filter), { maxTimeMS: this.maxTimeMS }));
  }

  /**
   * Counts and sums run as one `$group` pipeline on the server. Minimum, maximum and average need
   * accumulators FerretDB v1.24 lacks ($min, $max, $avg, $first, $cond are "not implemented", and
   * it computes only the first of several accumulators), so those stream a projection of the keys
   * and the field through a GroupAccumulator: one pass, memory bounded by the number of groups.
   */
  async group(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    if (spec.statistics === 'numeric') return this.groupByStreaming(scope, filter, spec);
    const measure = spec.statistics === 'count' ? { $sum: 1 } : { $sum: `$${spec.field}` };
    const pipeline = [
      { $match: query(filter) },
      // Keys are positional (k0, k1...): a dotted key name cannot be a field name of `_id`.
      {
        $group: {
          _id: spec.keys.length ? Object.fromEntries(spec.keys.map((key, i) => [`k${i}`, `$${key}`])) : null,
          value: measure,
        },
      },
      { $limit: spec.maxGroups + 1 },
    ];
    const groups = new GroupAccumulator(spec, this.maxResultBytes);
    const cursor = this.collection(scope).aggregate<{ _id: Record<string, unknown> | null; value: number }>(pipeline, {
      maxTimeMS: this.maxTimeMS,
    });
    let rows = 0;
    // Rows are charged as each batch arrives: an answer over the budget is refused, and its
    // cursor closed, before the rest of it is read.
    await translate(async () => {
      try {
        for await (const row of cursor) {
          if (++rows > spec.maxGroups) break;
          const key = spec.keys.map((_key, i) =>
            row._id && Object.hasOwn(row._id, `k${i}`) ? row._id[`k${i}`] : null,
          );
          groups.merge(
            spec.statistics === 'count'
              ? { key, count: row.value, numeric: 0, sum: 0, min: null, max: null }
              : { key, count: 0, numeric: 0, sum: row.value, min: null, max: null },
          );
        }
      } finally {
        await cursor.close();
      }
    });
    // A server may report a missing key field and a null one as two groups, which are merged
    // above; at the limit the merged count is unknown, so the exact (streaming) way decides.
    if (rows > spec.maxGroups) return this.groupByStreaming(scope, filter, spec);
    return groups.results();
  }

  /** Streams only the key and field values of the matches through a GroupAccumulator. */
  private async groupByStreaming(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    const groups = new GroupAccumulator(spec, this.maxResultBytes);
    const paths = [...spec.keys, ...(spec.field ? [spec.field] : [])];
    const projection: Record<string, 0 | 1> = Object.fromEntries(normalizeFields(paths).map((f) => [f, 1]));
    if (!paths.some((p) => p === '_id' || p.startsWith('_id.'))) projection._id = 0;
    const cursor = this.collection(scope).find(query(filter), {
      ...READ_OPTIONS,
      maxTimeMS: this.maxTimeMS,
      projection,
    });
    await translate(async () => {
      try {
        for await (const doc of cursor) if (!groups.add(doc)) break;
      } finally {
        await cursor.close();
      }
    });
    return groups.results();
  }

  async deleteById(scope: CollectionScope, id: string, filter?: Filter): Promise<boolean> {
    const result = await translate(() =>
      this.collection(scope).deleteOne(byId(id, filter), { maxTimeMS: this.maxTimeMS }),
    );
    return result.deletedCount > 0;
  }

  async deleteMany(scope: CollectionScope, filter: Filter): Promise<number> {
    const result = await translate(() =>
      this.collection(scope).deleteMany(query(filter), { maxTimeMS: this.maxTimeMS }),
    );
    return result.deletedCount;
  }

  /**
   * The collections of the app's database, emptied ones included (MongoDB keeps a collection once
   * created). MongoDB's own `system.*` collections are left out; Kinvey names never contain a dot.
   */
  async listCollections(appKey: string): Promise<string[]> {
    const db = this.client.db(this.dbName(appKey));
    const listed = await translate(() =>
      db.listCollections({}, { nameOnly: true, authorizedCollections: true }).toArray(),
    );
    return listed
      .map((c) => c.name)
      .filter((name) => !name.startsWith('system.'))
      .sort();
  }

  async ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void> {
    const key = JSON.stringify([
      this.dbName(scope.appKey),
      scope.collection,
      index.field,
      index.unique ?? false,
      index.sparse ?? false,
    ]);
    let ensured = this.ensuredIndexes.get(key);
    if (!ensured) {
      ensured = translate(async () => {
        await this.collection(scope).createIndex(
          { [index.field]: 1 },
          { unique: index.unique ?? false, sparse: index.sparse ?? false },
        );
      });
      // Only a successful creation is remembered; a failed one is retried on the next call.
      ensured.catch(() => this.ensuredIndexes.delete(key));
      this.ensuredIndexes.set(key, ensured);
    }
    await ensured;
  }

  /** Counters and logs in each app's database, shared by every instance on this server. */
  sharedState(clock?: () => Date): SharedState {
    return new MongoSharedState((appKey, name) => this.collection({ appKey, collection: name }), this.maxTimeMS, clock);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private dbName(appKey: string): string {
    return `${this.dbPrefix}${appKey}`;
  }

  private collection(scope: CollectionScope): Collection<StoredDocument> {
    return this.handles(scope).collection;
  }

  private handles(scope: CollectionScope): Handles {
    const key = `${scope.appKey}\u0000${scope.collection}`;
    let handles = this.collections.get(key);
    if (!handles) {
      const db = this.client.db(this.dbName(scope.appKey));
      handles = { db, collection: db.collection<StoredDocument>(scope.collection) };
      // Bounded like the apps and collections themselves; a flood of names only rebuilds handles.
      if (this.collections.size >= 10_000) this.collections.clear();
      this.collections.set(key, handles);
    }
    return handles;
  }
}

/** The caller's sort keys (first occurrence wins), then `_id` ascending unless already sorted by it. */
function sortWithTiebreak(sort: NonNullable<FindOptions['sort']>): [string, 1 | -1][] {
  const keys: [string, 1 | -1][] = [];
  for (const [field, direction] of sort) if (!keys.some(([f]) => f === field)) keys.push([field, direction]);
  if (!keys.some(([f]) => f === '_id')) keys.push(['_id', 1]);
  return keys;
}

function byId(id: string, filter?: Filter): MongoFilter<StoredDocument> {
  return query(filter && Object.keys(filter).length > 0 ? { $and: [{ _id: id }, filter] } : { _id: id });
}

/** The filter as sent to the server: x-mode regexes pre-applied (not every server supports `x`). */
function query(filter: Filter): MongoFilter<StoredDocument> {
  return applyExtendedRegexOption(filter);
}
