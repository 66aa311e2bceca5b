/**
 * The embedded document store: every app's collections in one SQLite database under `dir`
 * (sqlite/engine.ts), documents on disk and never loaded as a whole, with indexes that serve
 * equality, ranges, sorts and paging (sqlite/planner.ts). What a query means (matching, order,
 * projection) is still decided by mongo-semantics/ on each candidate, exactly like MongoDB.
 *
 * Durability: WAL with synchronous=NORMAL by default: a killed process loses no acknowledged
 * write; a power loss can lose the last transactions (never corrupts). `sync: 'full'` syncs every
 * commit to disk, so power loss loses nothing acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  StoreError,
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
import { GroupAccumulator } from '../mongo-semantics/group-accumulator';
import { Budget, DEFAULT_MAX_RESULT_BYTES } from '../result-budget';
import { decodeDocument, setFields } from './sqlite/documents';
import { SqliteSharedState } from './sqlite/shared-state';
import { Engine, type CollectionInfo, type EngineAccess, type SyncMode } from './sqlite/engine';
import { findPage, matcherOf, type Selection } from './sqlite/find';
import { planFilter, type Plan } from './sqlite/planner';
import { candidates, MAX_CANDIDATES, visitIds, visitMatching } from './sqlite/reading';

export interface EmbeddedDocumentStoreOptions {
  dir: string;
  /** `normal` (default): kill -9 safe; `full`: also power-loss safe, one fsync per write. */
  sync?: SyncMode;
  /** Largest answer of one find or group, in bytes of JSON (default 32 MiB). */
  maxResultBytes?: number;
  /** Largest candidate set a plan may name before a scan or index walk is used (tests lower it). */
  maxCandidates?: number;
  /**
   * `exclusive` (default): this process alone opens the file. In a cluster the primary opens it as
   * `owner` (prepares it, then closes it) and every worker as `shared` (sqlite/engine.ts).
   */
  access?: EngineAccess;
  /** Shared mode: how long a write waits for another process's transaction (default 5 s; tests lower it). */
  busyTimeoutMs?: number;
  /** Called once the store closed (the data dir's lock is released there). */
  onClose?: () => void;
}

/** Documents added to a new index per transaction (a slice of about a millisecond). */
const BACKFILL_ROWS = 64;

export class EmbeddedDocumentStore implements DocumentStore {
  private readonly engine: Engine;
  private readonly maxResultBytes: number;
  private readonly maxCandidates: number;
  private readonly building = new Map<string, Promise<void>>();
  private closed = false;
  private readonly onClose: (() => void) | undefined;

  constructor(options: EmbeddedDocumentStoreOptions) {
    this.engine = new Engine(options.dir, options.sync ?? 'normal', options.access, options.busyTimeoutMs);
    this.maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.maxCandidates = options.maxCandidates ?? MAX_CANDIDATES;
    this.onClose = options.onClose;
  }

  // Reads (and the multi-transaction deleteMany) turn a raw SQLite failure into a StoreError too:
  // in a cluster a read can meet another process's lock (WAL recovery after a kill -9).
  find(scope: CollectionScope, filter: Filter, options: FindOptions = {}): Promise<StoredDocument[]> {
    return guarded(() => this.findUnguarded(scope, filter, options));
  }

  findByIds(scope: CollectionScope, ids: readonly string[], filter: Filter = {}): Promise<StoredDocument[]> {
    return guarded(() => this.findByIdsUnguarded(scope, ids, filter));
  }

  count(scope: CollectionScope, filter: Filter): Promise<number> {
    return guarded(() => this.countUnguarded(scope, filter));
  }

  group(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    return guarded(() => this.groupUnguarded(scope, filter, spec));
  }

  deleteMany(scope: CollectionScope, filter: Filter): Promise<number> {
    return guarded(() => this.deleteManyUnguarded(scope, filter));
  }

  async insert(scope: CollectionScope, doc: StoredDocument): Promise<void> {
    const coll = this.collectionFor(scope);
    this.write(() => {
      if (this.engine.getRow(coll, doc._id))
        throw new StoreError('duplicate', `E11000 duplicate key: _id ${JSON.stringify(doc._id)}`);
      this.engine.insertRow(coll, doc);
    });
  }

  async upsert(scope: CollectionScope, doc: StoredDocument): Promise<{ created: boolean }> {
    const coll = this.collectionFor(scope);
    return this.write(() => {
      const previous = this.engine.get(coll, doc._id);
      if (previous) this.engine.replaceRow(coll, previous, doc);
      else this.engine.insertRow(coll, doc);
      return { created: !previous };
    });
  }

  /** Upserts a batch in one transaction (see DocumentStore.putMany). */
  async putMany(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void> {
    await this.importDocuments(scope, docs);
  }

  /** Upserts a batch in one transaction (migration and bulk loading). */
  async importDocuments(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void> {
    const coll = this.collectionFor(scope);
    this.write(() => {
      for (const doc of docs) {
        const previous = this.engine.get(coll, doc._id);
        if (previous) this.engine.replaceRow(coll, previous, doc);
        else this.engine.insertRow(coll, doc);
      }
    });
  }

  async replace(scope: CollectionScope, doc: StoredDocument, filter?: Filter): Promise<boolean> {
    return this.update(scope, doc._id, filter, () => doc);
  }

  async setFields(
    scope: CollectionScope,
    id: string,
    fields: Record<string, unknown>,
    filter?: Filter,
  ): Promise<boolean> {
    return this.update(scope, id, filter, (previous) => setFields(previous, fields));
  }

  private async findUnguarded(
    scope: CollectionScope,
    filter: Filter,
    options: FindOptions = {},
  ): Promise<StoredDocument[]> {
    const coll = this.existing(scope);
    if (!coll) return [];
    return findPage(this.engine, coll, await this.candidatesFor(coll, filter), filter, options, this.maxResultBytes);
  }

  scan(scope: CollectionScope, after: string | null, limit: number): Promise<StoredDocument[]> {
    return guarded(async () => {
      const coll = this.existing(scope);
      if (!coll) return [];
      return this.engine.page(coll, after, limit).map((row) => decodeDocument(row.body, row.dates));
    });
  }

  private async findByIdsUnguarded(
    scope: CollectionScope,
    ids: readonly string[],
    filter: Filter = {},
  ): Promise<StoredDocument[]> {
    const coll = this.existing(scope);
    if (!coll || ids.length === 0) return [];
    const budget = new Budget(this.maxResultBytes);
    const out: StoredDocument[] = [];
    await visitIds(this.engine, coll, [...new Set(ids)], matcherOf(filter), (doc, row) => {
      budget.charge(row.body.length);
      out.push(doc);
      return true;
    });
    return out;
  }

  private async countUnguarded(scope: CollectionScope, filter: Filter): Promise<number> {
    const coll = this.existing(scope);
    if (!coll) return 0;
    if (Object.keys(filter).length === 0) return this.engine.count(coll);
    // One equality an index answers alone: count its rows (a document holds a key once).
    const plans = this.plansFor(coll, filter);
    const single = plans.find((plan) => plan.exact && !plan.residual && plan.sources.length === 1);
    const source = single?.sources[0];
    if (source?.kind === 'range' && source.low.equals(source.high) && !source.highExclusive)
      return this.engine.countKey(source.ix, source.low);
    const selection = await this.candidatesFor(coll, filter, plans);
    if (selection?.exact) return selection.ids.length;
    let n = 0;
    await visitMatching(this.engine, coll, selection?.ids ?? null, matcherOf(filter), () => ++n > 0);
    return n;
  }

  private async groupUnguarded(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    const coll = this.existing(scope);
    if (!coll) return [];
    const groups = new GroupAccumulator(spec, this.maxResultBytes);
    // Memory grows with the number of groups, not with the collection, and stops at the budget.
    await visitMatching(
      this.engine,
      coll,
      (await this.candidatesFor(coll, filter))?.ids ?? null,
      matcherOf(filter),
      (doc) => groups.add(doc),
    );
    return groups.results();
  }

  async deleteById(scope: CollectionScope, id: string, filter?: Filter): Promise<boolean> {
    const coll = this.existing(scope);
    if (!coll) return false;
    const matches = matcherOf(filter ?? {});
    return this.write(() => {
      const doc = this.engine.get(coll, id);
      if (!doc || (matches && !matches(doc))) return false;
      this.engine.deleteRow(coll, doc);
      return true;
    });
  }

  private async deleteManyUnguarded(scope: CollectionScope, filter: Filter): Promise<number> {
    const coll = this.existing(scope);
    if (!coll) return 0;
    const matches = matcherOf(filter);
    let deleted = 0;
    // One pass; every 256 matches are deleted in one transaction (rows behind the scan only).
    let batch: string[] = [];
    const flush = (): void => {
      const ids = batch;
      batch = [];
      deleted += this.write(() =>
        ids.reduce((n, id) => {
          const doc = this.engine.get(coll, id);
          if (!doc || (matches && !matches(doc))) return n;
          this.engine.deleteRow(coll, doc);
          return n + 1;
        }, 0),
      );
    };
    await visitMatching(this.engine, coll, (await this.candidatesFor(coll, filter))?.ids ?? null, matches, (doc) => {
      if (batch.push(doc._id) >= 256) flush();
      return true;
    });
    flush();
    return deleted;
  }

  /** Only collections holding a document: the catalog keeps a count per collection. */
  async listCollections(appKey: string): Promise<string[]> {
    this.assertOpen();
    return this.engine.collectionNames(appKey);
  }

  async ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void> {
    const key = `${scope.appKey}\u0000${scope.collection}\u0000${index.field}`;
    const pending = this.building.get(key);
    if (pending) return pending;
    const existing = this.existing(scope)?.indexes.get(index.field);
    if (existing?.ready) return;
    const build = this.buildIndex(scope, index).finally(() => this.building.delete(key));
    this.building.set(key, build);
    return build;
  }

  /**
   * Copies the whole database to `file` with SQLite's online backup API, a few pages per step so
   * requests keep being served; the copy is the state of one moment (a write during the backup
   * makes SQLite restart the copy from the changed pages). `file` must not exist.
   */
  async backupTo(file: string): Promise<void> {
    await this.engine.db.backup(file, { progress: () => 256 });
  }

  /** Counters and logs in the same SQLite file, shared by every process that opens it. */
  sharedState(clock?: () => Date): SharedState {
    this.assertOpen();
    return new SqliteSharedState(this.engine, clock);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.building.values());
    this.engine.close();
    this.onClose?.();
  }

  private async buildIndex(scope: CollectionScope, spec: IndexSpec): Promise<void> {
    const coll = this.collectionFor(scope);
    // Another worker process may have registered it meanwhile: then this one back-fills it as well
    // (rows are added idempotently), so a build its process abandoned in a crash still completes.
    const index = this.write(
      () =>
        coll.indexes.get(spec.field) ??
        this.engine.addIndex(coll, spec.field, spec.unique ?? false, spec.sparse ?? false),
    );
    if (index.ready) return;
    // Writes maintain the new index from now on; the documents already there are added in slices.
    try {
      let after: string | null = null;
      for (;;) {
        this.assertOpen();
        const started = performance.now();
        const rows = this.engine.page(coll, after, BACKFILL_ROWS);
        if (rows.length > 0)
          this.write(() => {
            // Dropped by another process (a duplicate it found): adding rows for it would leave orphans.
            if (coll.indexes.get(spec.field) !== index) throw new StoreError('unavailable', 'the index was dropped');
            this.engine.backfill(coll, index, rows);
          });
        if (rows.length === 0) break;
        after = rows[rows.length - 1]?.id ?? null;
        // A build takes at most a third of the event loop: requests keep their latency meanwhile.
        await sleep(2 * (performance.now() - started));
      }
      this.write(() => {
        if (coll.indexes.get(spec.field) === index) this.engine.markReady(index);
      });
    } catch (err) {
      if (this.engine.db.open)
        this.write(() => {
          if (coll.indexes.get(spec.field) === index) this.engine.dropIndex(coll, index);
        });
      throw err;
    }
  }

  private async update(
    scope: CollectionScope,
    id: string,
    filter: Filter | undefined,
    next: (previous: StoredDocument) => StoredDocument,
  ): Promise<boolean> {
    const coll = this.existing(scope);
    if (!coll) return false;
    const matches = matcherOf(filter ?? {});
    return this.write(() => {
      const row = this.engine.getRow(coll, id);
      if (!row) return false;
      const previous = decodeDocument(row.body, row.dates);
      if (matches && !matches(previous)) return false;
      // `next` gets its own copy: the old index rows are removed by the keys of the unchanged one.
      this.engine.replaceRow(coll, previous, { ...next(decodeDocument(row.body, row.dates)), _id: id });
      return true;
    });
  }

  /** The candidates of the smallest plan that names at most maxCandidates (exact ones win ties), else null (scan). */
  private async candidatesFor(
    coll: CollectionInfo,
    filter: Filter,
    plans = this.plansFor(coll, filter),
  ): Promise<Selection | null> {
    let best: Selection | null = null;
    for (const plan of plans) {
      const ids = await candidates(this.engine, coll, plan, this.maxCandidates);
      if (ids && (!best || ids.length < best.ids.length || (ids.length === best.ids.length && plan.exact)))
        best = { ids, exact: plan.exact };
      if (best && best.ids.length <= 64) break;
    }
    return best;
  }

  private plansFor(coll: CollectionInfo, filter: Filter): Plan[] {
    return planFilter(filter, (field) => coll.indexes.get(field));
  }

  /**
   * The collection, created in a transaction of its own: the catalog in memory must never hold a
   * collection whose creation a failed write rolled back.
   */
  private collectionFor(scope: CollectionScope): CollectionInfo {
    return this.existing(scope) ?? this.write(() => this.engine.createCollection(scope.appKey, scope.collection));
  }

  private existing(scope: CollectionScope): CollectionInfo | undefined {
    this.assertOpen();
    this.engine.refreshCatalog();
    return this.engine.collection(scope.appKey, scope.collection);
  }

  /** Runs synchronous engine work in one transaction; engine failures become StoreErrors. */
  private write<T>(work: () => T): T {
    this.assertOpen();
    try {
      // IMMEDIATE: the write lock first, then the reads the write depends on (another worker
      // process cannot slip a commit in between), with the catalog as it stands under that lock.
      // The turn's read transaction ends first: a write begins a transaction of its own.
      this.engine.endSnapshot();
      return this.engine.db
        .transaction(() => {
          this.engine.refreshCatalog();
          return work();
        })
        .immediate();
    } catch (err) {
      throw asStoreError(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', 'the embedded document store is closed');
  }
}

/** A SQLite failure (SQLITE_BUSY past the busy timeout, I/O) as StoreError('unavailable'): 503, retry. */
function asStoreError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  return code.startsWith('SQLITE_')
    ? new StoreError('unavailable', `the embedded store failed: ${code}`, { cause: err })
    : err;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asStoreError(err);
  }
}
