/**
 * The embedded engine's storage: one SQLite database (better-sqlite3) holding every app's
 * collections. `docs` keeps each document as JSON text under (collection, _id); `entries` keeps
 * one row per index key and document, ordered by key bytes (index-keys.ts). Every write changes a
 * document and its index rows in one transaction. All calls here are synchronous and short: the
 * store above pages through results across event-loop turns.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { READABLE_BY_ALL_FLAGS, StoreError, type StoredDocument } from '../../../../domain/ports';
import { compareStrings } from '../../mongo-semantics/values';
import { decodeDocument, encodeDocument } from './documents';
import { documentKeys, MAX_KEY_BYTES, TAG } from './index-keys';
import { prepare, SCHEMA, SCHEMA_VERSION } from './schema';

export type SyncMode = 'normal' | 'full';

/** Who else opens the file: nobody (`exclusive`), or the workers of a cluster (`owner`: the primary, `shared`: a worker). */
export type EngineAccess = 'exclusive' | 'owner' | 'shared';

/** How long a write waits for another process's transaction before it fails (as 503, retry). */
const BUSY_TIMEOUT_MS = 5_000;

export interface IndexInfo {
  ix: number;
  coll: number;
  field: string;
  path: string[];
  unique: boolean;
  sparse: boolean;
  /** Every key so far encodes its value's order exactly: the index can serve sorts. */
  sortable: boolean;
  multikey: boolean;
  /** Built for every document (an index being back-filled serves no query yet). */
  ready: boolean;
}

export interface CollectionInfo {
  id: number;
  indexes: Map<string, IndexInfo>;
}

export interface Row {
  id: string;
  body: string;
  dates: number;
}

const NULL_KEY = Buffer.from([TAG.null]);

/** A page of rows holds about this much JSON at most (8 MiB), however large the documents. */
const PAGE_CHARS = 8 * 1024 * 1024;

export class Engine {
  readonly db: Database.Database;
  private readonly collections = new Map<string, CollectionInfo>();
  private readonly sql: ReturnType<typeof prepare>;

  /**
   * The catalog generation this process last loaded (shared mode): every change to the catalog
   * (a collection or index added, an index ready, flagged or dropped) bumps the stored one, and a
   * process that sees another number reloads its catalog before it plans or writes.
   */
  private generation = -1;
  private readonly shared: boolean;
  /** A read transaction begun by `snapshot` is open. */
  private snapshotOpen = false;

  /**
   * Opens (creating) the database under `dir`. `access`: `exclusive` (the default) for one process
   * that owns the file, refusing any other; `owner` for the cluster primary that prepares the file
   * (schema, interrupted index builds) before its workers open it; `shared` for a worker, one of
   * several processes writing through SQLite's own locks (BEGIN IMMEDIATE, a busy timeout).
   */
  constructor(dir: string, sync: SyncMode, access: EngineAccess = 'exclusive', busyTimeoutMs = BUSY_TIMEOUT_MS) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'kinbase.sqlite');
    this.shared = access !== 'exclusive';
    try {
      // Shared: a writer waits for another process's transaction (each is short) rather than fail.
      this.db = new Database(file, { timeout: this.shared ? busyTimeoutMs : 0 });
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a commit is in the WAL file before it is acknowledged, so killing any
      // process (or every process) loses no acknowledged write; FULL also syncs for power loss.
      this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
      // One process owns the data: a second kinbase on the same dir fails at start, not mid-request.
      // (In a cluster the primary's data-dir lock keeps a second kinbase out instead: lock.ts.)
      if (!this.shared) this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('cache_size = -16384'); // 16 MiB of page cache, whatever the data size
      this.db.pragma('temp_store = FILE');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION)
        throw new Error(`it was written by a newer kinbase (schema ${version}; this one reads ${SCHEMA_VERSION})`);
      if (access !== 'shared') {
        this.db.exec(SCHEMA);
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      } else if (version !== SCHEMA_VERSION) {
        throw new Error('it was not prepared by the primary process');
      }
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === 'SQLITE_BUSY'
          ? 'it is in use by another process (one kinbase per data dir)'
          : String((err as Error).message);
      throw new StoreError('unavailable', `cannot open the embedded store ${file}: ${why}`, { cause: err });
    }
    this.sql = prepare(this.db);
    // An index whose back-fill a crash interrupted is dropped; whoever needs it ensures it again.
    // Only by the process that opens the file first: a worker's peer may be building one now.
    if (access !== 'shared') this.dropUnfinishedIndexes();
    this.loadCatalog();
  }

  /**
   * Shared mode: reloads the catalog if another process changed it since (one read of one row).
   * Called before a plan and at the start of every write transaction; a no-op for an exclusive engine.
   * The objects handed out before stay valid: they are updated in place.
   */
  refreshCatalog(): void {
    if (!this.shared) return;
    this.snapshot();
    const generation = (this.sql.generation.pluck().get() as number | undefined) ?? 0;
    if (generation !== this.generation) this.loadCatalog();
  }

  /** The collection, or undefined when it was never written. */
  collection(app: string, name: string): CollectionInfo | undefined {
    return this.collections.get(catalogKey(app, name));
  }

  /** The collection, created when missing (inside the caller's transaction). */
  createCollection(app: string, name: string): CollectionInfo {
    const existing = this.collection(app, name);
    if (existing) return existing;
    const id = Number(this.sql.insertCollection.run(app, name).lastInsertRowid);
    this.catalogChanged();
    const info: CollectionInfo = { id, indexes: new Map() };
    this.collections.set(catalogKey(app, name), info);
    return info;
  }

  /** Names of the app's collections that hold at least one document, sorted. */
  collectionNames(app: string): string[] {
    this.snapshot();
    return this.sql.namesOfApp.pluck().all(app) as string[];
  }

  count(coll: CollectionInfo): number {
    this.snapshot();
    return (this.sql.count.get(coll.id) as { count: number } | undefined)?.count ?? 0;
  }

  get(coll: CollectionInfo, id: string): StoredDocument | undefined {
    this.snapshot();
    const row = this.sql.get.get(coll.id, id) as Row | undefined;
    return row ? decodeDocument(row.body, row.dates) : undefined;
  }

  /** Whether the document exists, without reading it. */
  exists(coll: CollectionInfo, id: string): boolean {
    this.snapshot();
    return this.sql.exists.get(coll.id, id) !== undefined;
  }

  getRow(coll: CollectionInfo, id: string): Row | undefined {
    this.snapshot();
    return this.sql.get.get(coll.id, id) as Row | undefined;
  }

  /**
   * Rows with ids after `after` (before, descending) in `_id` order: up to `limit` of them, and no
   * more once they hold `maxChars` of JSON (at least one row), so a page of large documents stays small.
   */
  page(coll: CollectionInfo, after: string | null, limit: number, descending = false, maxChars = PAGE_CHARS): Row[] {
    this.snapshot();
    const stmt = descending
      ? after === null
        ? this.sql.lastRows
        : this.sql.rowsBefore
      : after === null
        ? this.sql.firstRows
        : this.sql.rowsAfter;
    const rows: Row[] = [];
    let chars = 0;
    const iterator = (
      after === null ? stmt.iterate(coll.id, limit) : stmt.iterate(coll.id, after, limit)
    ) as IterableIterator<Row>;
    for (const row of iterator) {
      rows.push(row);
      chars += row.body.length;
      if (chars >= maxChars) {
        iterator.return?.();
        break;
      }
    }
    return rows;
  }

  /** The id at position `offset` in `_id` order (for skips that need no matching). */
  idAt(coll: CollectionInfo, offset: number, descending: boolean): string | undefined {
    this.snapshot();
    const row = (descending ? this.sql.idAtDesc : this.sql.idAtAsc).get(coll.id, offset) as { id: string } | undefined;
    return row?.id;
  }

  /**
   * Ids with index keys in [low, high], at most `limit` rows of them (more rows: there may be more);
   * `readableByAll`: only documents whose `_acl` lets everyone read them.
   */
  idsInRange(
    ix: number,
    low: Buffer,
    high: Buffer,
    highExclusive: boolean,
    limit: number,
    readableByAll = false,
  ): string[] {
    this.snapshot();
    const stmt = readableByAll
      ? highExclusive
        ? this.sql.publicRangeExclusive
        : this.sql.publicRangeInclusive
      : highExclusive
        ? this.sql.rangeExclusive
        : this.sql.rangeInclusive;
    return stmt.pluck().all(ix, low, high, limit) as string[];
  }

  /**
   * `ids` in the order of their keys in index `ix` (a multikey document by its smallest key, or
   * largest when descending), ties by `_id`: sorts candidates without reading a document.
   */
  sortByKeys(ix: number, ids: readonly string[], descending: boolean): string[] {
    this.snapshot();
    const stmt = descending ? this.sql.largestKeyOf : this.sql.smallestKeyOf;
    const keyed = ids.map((id) => ({ id, key: (stmt.pluck().get(ix, id) as Buffer | undefined) ?? NULL_KEY }));
    keyed.sort(
      (a, b) =>
        (descending ? Buffer.compare(b.key, a.key) : Buffer.compare(a.key, b.key)) || compareStrings(a.id, b.id),
    );
    return keyed.map((entry) => entry.id);
  }

  hasEntry(ix: number, key: Buffer, id: string): boolean {
    this.snapshot();
    return this.sql.hasEntry.get(ix, key, id) !== undefined;
  }

  /** Up to `limit` keys document `id` has in index `ix` (one per distinct value it holds there). */
  keysOf(ix: number, id: string, limit: number): Buffer[] {
    this.snapshot();
    return this.sql.keysOf.pluck().all(ix, id, limit) as Buffer[];
  }

  countKey(ix: number, key: Buffer): number {
    this.snapshot();
    return (this.sql.countKey.pluck().get(ix, key) as number) ?? 0;
  }

  /** The next distinct key after `after` (before, descending); null past the end. */
  nextKey(ix: number, after: Buffer | null, descending: boolean): Buffer | null {
    this.snapshot();
    const stmt = descending
      ? after
        ? this.sql.keyBefore
        : this.sql.lastKey
      : after
        ? this.sql.keyAfter
        : this.sql.firstKey;
    const key = (after ? stmt.pluck().get(ix, after) : stmt.pluck().get(ix)) as Buffer | undefined;
    return key ?? null;
  }

  /** Ids holding `key`, after `afterId`, in `_id` order. */
  idsWithKey(ix: number, key: Buffer, afterId: string | null, limit: number): string[] {
    this.snapshot();
    return (
      afterId === null
        ? this.sql.idsWithKey.pluck().all(ix, key, limit)
        : this.sql.idsWithKeyAfter.pluck().all(ix, key, afterId, limit)
    ) as string[];
  }

  insertRow(coll: CollectionInfo, doc: StoredDocument): void {
    const { body, dates } = encodeDocument(doc);
    this.checkUnique(coll, doc);
    this.sql.insert.run(coll.id, doc._id, body, dates ? 1 : 0);
    this.sql.addCount.run(1, coll.id);
    this.addEntries(coll, doc);
  }

  replaceRow(coll: CollectionInfo, previous: StoredDocument, doc: StoredDocument): void {
    const { body, dates } = encodeDocument(doc);
    this.removeEntries(coll, previous);
    this.checkUnique(coll, doc);
    this.sql.update.run(body, dates ? 1 : 0, coll.id, doc._id);
    this.addEntries(coll, doc);
  }

  deleteRow(coll: CollectionInfo, doc: StoredDocument): void {
    this.removeEntries(coll, doc);
    this.sql.delete.run(coll.id, doc._id);
    this.sql.addCount.run(-1, coll.id);
  }

  /** Registers an index (not ready: writes maintain it, queries ignore it until back-filled). */
  addIndex(coll: CollectionInfo, field: string, unique: boolean, sparse: boolean): IndexInfo {
    const ix = Number(this.sql.insertIndex.run(coll.id, field, unique ? 1 : 0, sparse ? 1 : 0).lastInsertRowid);
    this.catalogChanged();
    const info: IndexInfo = {
      ix,
      coll: coll.id,
      field,
      path: field.split('.'),
      unique,
      sparse,
      sortable: true,
      multikey: false,
      ready: false,
    };
    coll.indexes.set(field, info);
    return info;
  }

  /** Adds the index rows of documents written before the index existed. */
  backfill(coll: CollectionInfo, index: IndexInfo, rows: readonly Row[]): void {
    for (const row of rows) {
      const doc = decodeDocument(row.body, row.dates);
      this.checkUniqueOne(index, doc);
      this.addIndexEntries(index, doc, readableByAll(doc));
    }
  }

  markReady(index: IndexInfo): void {
    this.sql.readyIndex.run(index.ix);
    this.catalogChanged();
    index.ready = true;
  }

  dropIndex(coll: CollectionInfo, index: IndexInfo): void {
    this.sql.dropEntries.run(index.ix);
    this.sql.dropPublicEntries.run(index.ix);
    this.sql.dropIndex.run(index.ix);
    this.catalogChanged();
    coll.indexes.delete(index.field);
  }

  close(): void {
    this.endSnapshot();
    if (this.db.open) this.db.close();
  }

  private checkUnique(coll: CollectionInfo, doc: StoredDocument): void {
    for (const index of coll.indexes.values()) if (index.unique) this.checkUniqueOne(index, doc);
  }

  private checkUniqueOne(index: IndexInfo, doc: StoredDocument): void {
    if (!index.unique) return;
    const { keys, missing } = documentKeys(doc, index.path);
    if (missing && index.sparse) return;
    for (const key of keys) {
      const holders = this.sql.otherHolders.pluck().all(index.ix, key, doc._id) as string[];
      // A cut key is a prefix: only a holder with the same whole value is a duplicate.
      const taken =
        key.length < MAX_KEY_BYTES ? holders.length > 0 : holders.some((id) => this.holdsSameValue(index, id, doc));
      if (taken) throw new StoreError('duplicate', `E11000 duplicate key: ${index.field} is taken by another document`);
    }
  }

  private holdsSameValue(index: IndexInfo, otherId: string, doc: StoredDocument): boolean {
    const row = this.sql.get.get(index.coll, otherId) as Row | undefined;
    if (!row) return false;
    const theirs = new Set(
      documentKeys(decodeDocument(row.body, row.dates), index.path, false).keys.map((k) => k.toString('latin1')),
    );
    return documentKeys(doc, index.path, false).keys.some((k) => theirs.has(k.toString('latin1')));
  }

  private addEntries(coll: CollectionInfo, doc: StoredDocument): void {
    const readable = readableByAll(doc);
    for (const index of coll.indexes.values()) this.addIndexEntries(index, doc, readable);
  }

  /** `readable`: readableByAll(doc), computed once per document by the caller. */
  private addIndexEntries(index: IndexInfo, doc: StoredDocument, readable: boolean): void {
    const { keys, inexact, multikey, missing } = documentKeys(doc, index.path);
    if (missing && index.sparse) return;
    for (const key of keys) this.sql.insertEntry.run(index.ix, key, doc._id);
    // The same rows once more for documents everyone may read: a reader's condition is looked up
    // there, among readable documents only, when the ACL alone names too many (planner.ts).
    if (readable && !index.field.startsWith('_acl.'))
      for (const key of keys) this.sql.insertPublicEntry.run(index.ix, key, doc._id);
    if ((inexact && index.sortable) || (multikey && !index.multikey)) {
      index.sortable &&= !inexact;
      index.multikey ||= multikey;
      this.sql.flagIndex.run(index.sortable ? 1 : 0, index.multikey ? 1 : 0, index.ix);
      this.catalogChanged();
    }
  }

  private removeEntries(coll: CollectionInfo, doc: StoredDocument): void {
    const readable = readableByAll(doc);
    for (const index of coll.indexes.values()) {
      const publicRows = readable && !index.field.startsWith('_acl.');
      for (const key of documentKeys(doc, index.path).keys) {
        this.sql.deleteEntry.run(index.ix, key, doc._id);
        if (publicRows) this.sql.deletePublicEntry.run(index.ix, key, doc._id);
      }
    }
  }

  /**
   * Shared mode: the reads of one event-loop turn share one read transaction, begun by the first
   * of them and ended once the turn's work is done (setImmediate) or when a write begins
   * (`endSnapshot`). Each statement outside a transaction would otherwise take and drop SQLite's
   * file locks itself (fcntl calls: about twice the CPU of an exclusive engine's reads). Within
   * the turn the reads see one consistent state; the next turn sees newer commits.
   */
  private snapshot(): void {
    if (!this.shared || this.db.inTransaction) return;
    this.sql.beginRead.run();
    this.snapshotOpen = true;
    setImmediate(() => this.endSnapshot());
  }

  /** Ends the read transaction `snapshot` began (before a write, or at the end of the turn). */
  endSnapshot(): void {
    if (!this.snapshotOpen) return;
    this.snapshotOpen = false;
    if (this.db.open && this.db.inTransaction) this.sql.commitRead.run();
  }

  /**
   * Shared mode: tells the other processes that the catalog changed (inside the caller's
   * transaction, so they see the change and the new generation together). This process reloads
   * too on its next refresh: its own change may yet be rolled back.
   */
  private catalogChanged(): void {
    if (this.shared) this.sql.bumpGeneration.run();
  }

  private dropUnfinishedIndexes(): void {
    for (const ix of this.db.prepare('SELECT ix FROM indexes WHERE ready = 0').pluck().all() as number[]) {
      this.sql.dropEntries.run(ix);
      this.sql.dropPublicEntries.run(ix);
      this.sql.dropIndex.run(ix);
    }
  }

  /** Reads the catalog, updating the objects already handed out in place (a stale one never misses an index). */
  private loadCatalog(): void {
    this.generation = (this.sql.generation.pluck().get() as number | undefined) ?? 0;
    const byId = new Map<number, CollectionInfo>();
    for (const row of this.db.prepare('SELECT id, app, name FROM collections').all() as {
      id: number;
      app: string;
      name: string;
    }[]) {
      const key = catalogKey(row.app, row.name);
      const known = this.collections.get(key);
      const info: CollectionInfo = known?.id === row.id ? known : { id: row.id, indexes: new Map() };
      byId.set(row.id, info);
      this.collections.set(key, info);
    }
    type IndexRow = {
      ix: number;
      coll: number;
      field: string;
      is_unique: number;
      sparse: number;
      sortable: number;
      multikey: number;
      ready: number;
    };
    const seen = new Map<CollectionInfo, Set<string>>();
    for (const row of this.db.prepare('SELECT * FROM indexes').all() as IndexRow[]) {
      const coll = byId.get(row.coll);
      if (!coll) continue;
      const fresh: IndexInfo = {
        ix: row.ix,
        coll: row.coll,
        field: row.field,
        path: row.field.split('.'),
        unique: row.is_unique === 1,
        sparse: row.sparse === 1,
        sortable: row.sortable === 1,
        multikey: row.multikey === 1,
        ready: row.ready === 1,
      };
      const known = coll.indexes.get(row.field);
      if (known?.ix === row.ix) Object.assign(known, fresh);
      else coll.indexes.set(row.field, fresh);
      const fields = seen.get(coll) ?? new Set<string>();
      fields.add(row.field);
      seen.set(coll, fields);
    }
    // Indexes another process dropped leave the catalog here as well.
    for (const coll of byId.values())
      for (const field of [...coll.indexes.keys()]) if (!seen.get(coll)?.has(field)) coll.indexes.delete(field);
  }
}

const TRUE_KEY = Buffer.from([TAG.boolean, 1]);

/** Whether an ACL clause's readable-by-all branch (`{'_acl.gr': true}`, ...) matches the document. */
function readableByAll(doc: StoredDocument): boolean {
  return READABLE_BY_ALL_FLAGS.some((flag) =>
    documentKeys(doc, ['_acl', flag]).keys.some((key) => key.equals(TRUE_KEY)),
  );
}

function catalogKey(app: string, name: string): string {
  return `${app}\u0000${name}`;
}
