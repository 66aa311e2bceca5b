/**
 * The embedded document store: one @seald-io/nedb datafile per app and collection under `dir`.
 * nedb persists and indexes; everything about queries (matching, order, paging, projection) is
 * done by mongo-semantics.ts, because nedb's matcher lacks operators and sorts differently.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import Datastore from '@seald-io/nedb';
import {
  StoreError,
  type CollectionScope,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type GroupSpec,
  type GroupStats,
  type IndexSpec,
  type StoredDocument,
} from '../../ports';
import { GroupAccumulator } from './group-accumulator';
import { compileFilter, projectDocument, sortDocuments } from './mongo-semantics';

type Collection = Datastore<StoredDocument>;

export interface EmbeddedDocumentStoreOptions {
  dir: string;
  /** How often every open datafile is compacted (rewritten without superseded lines). */
  compactionIntervalMs?: number;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 10 * 60 * 1000;

export class EmbeddedDocumentStore implements DocumentStore {
  private readonly dir: string;
  private readonly open = new Map<string, Promise<Collection>>();
  private readonly ensuredIndexes = new Set<string>();
  private readonly compactionTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: EmbeddedDocumentStoreOptions) {
    this.dir = path.resolve(options.dir);
    // One timer for all datafiles, unref'd so an idle store never keeps the process alive
    // (nedb's own autocompaction timer is neither shared nor unref'd).
    this.compactionTimer = setInterval(() => void this.compactAll(), options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS);
    this.compactionTimer.unref();
  }

  async insert(scope: CollectionScope, doc: StoredDocument): Promise<void> {
    const collection = await this.collection(scope);
    await translate(() => collection.insertAsync(doc));
  }

  async upsert(scope: CollectionScope, doc: StoredDocument): Promise<{ created: boolean }> {
    const collection = await this.collection(scope);
    const result = await translate(() => collection.updateAsync({ _id: doc._id }, doc, { upsert: true }));
    return { created: result.upsert };
  }

  async replace(scope: CollectionScope, doc: StoredDocument, filter?: Filter): Promise<boolean> {
    const collection = await this.collection(scope);
    const result = await translate(() => collection.updateAsync(byId(doc._id, filter), doc, {}));
    return result.numAffected > 0;
  }

  async setFields(scope: CollectionScope, id: string, fields: Record<string, unknown>, filter?: Filter): Promise<boolean> {
    const collection = await this.collection(scope);
    // nedb's $set understands dotted paths and creates missing intermediate objects, like MongoDB.
    const update = Object.keys(fields).length > 0 ? { $set: fields } : { $set: { _id: id } };
    const result = await translate(() => collection.updateAsync(byId(id, filter), update, {}));
    return result.numAffected > 0;
  }

  async find(scope: CollectionScope, filter: Filter, options: FindOptions = {}): Promise<StoredDocument[]> {
    const collection = await this.existingCollection(scope);
    if (!collection) return [];
    const matches = await collection.findAsync(where(filter));
    const sorted = sortDocuments(matches, options.sort);
    const start = options.skip ?? 0;
    // limit 0 means "no limit", as in MongoDB.
    const page = options.limit ? sorted.slice(start, start + options.limit) : sorted.slice(start);
    return options.fields ? page.map((doc) => projectDocument(doc, options.fields ?? [])) : page;
  }

  async findByIds(scope: CollectionScope, ids: readonly string[], filter: Filter = {}): Promise<StoredDocument[]> {
    if (ids.length === 0) return [];
    const collection = await this.existingCollection(scope);
    if (!collection) return [];
    // `_id: {$in}` lets nedb use its _id index; the filter runs through our matcher.
    return collection.findAsync({ _id: { $in: [...ids] }, ...where(filter) });
  }

  async count(scope: CollectionScope, filter: Filter): Promise<number> {
    const collection = await this.existingCollection(scope);
    if (!collection) return 0;
    return collection.countAsync(where(filter));
  }

  async group(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    const collection = await this.existingCollection(scope);
    if (!collection) return [];
    const matches = compileFilter(filter);
    const groups = new GroupAccumulator(spec);
    // One pass over nedb's own documents (read, never copied or changed): memory grows with the
    // number of groups, not with the collection.
    for (const doc of collection.getAllData<StoredDocument>()) {
      if (matches(doc) && !groups.add(doc)) break;
    }
    return groups.results();
  }

  async deleteById(scope: CollectionScope, id: string, filter?: Filter): Promise<boolean> {
    const collection = await this.existingCollection(scope);
    if (!collection) return false;
    return (await collection.removeAsync(byId(id, filter), {})) > 0;
  }

  async deleteMany(scope: CollectionScope, filter: Filter): Promise<number> {
    const collection = await this.existingCollection(scope);
    if (!collection) return 0;
    return collection.removeAsync(where(filter), { multi: true });
  }

  async ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void> {
    const key = `${this.fileFor(scope)}\u0000${index.field}\u0000${index.unique ?? false}\u0000${index.sparse ?? false}`;
    if (this.ensuredIndexes.has(key)) return;
    const collection = await this.collection(scope);
    await translate(() => collection.ensureIndexAsync({ fieldName: index.field, unique: index.unique ?? false, sparse: index.sparse ?? false }));
    this.ensuredIndexes.add(key);
  }

  /** Compacts every open datafile and releases them; the store cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.compactionTimer);
    await this.compactAll();
    this.open.clear();
  }

  private async compactAll(): Promise<void> {
    const collections = await Promise.allSettled(this.open.values());
    await Promise.allSettled(
      collections.map((c) => (c.status === 'fulfilled' ? c.value.compactDatafileAsync() : Promise.resolve())),
    );
  }

  /** The open collection, opening (and creating) its datafile on first use. */
  private collection(scope: CollectionScope): Promise<Collection> {
    if (this.closed) throw new StoreError('unavailable', 'the embedded document store is closed');
    const file = this.fileFor(scope);
    let opened = this.open.get(file);
    if (!opened) {
      const datastore: Collection = new Datastore<StoredDocument>({ filename: file });
      opened = datastore.loadDatabaseAsync().then(() => datastore);
      // A failed open must not poison the cache: the next call retries.
      opened.catch(() => this.open.delete(file));
      this.open.set(file, opened);
    }
    return opened.catch((err: unknown) => {
      throw new StoreError('unavailable', `cannot open ${file}`, { cause: err });
    });
  }

  /** Like collection(), but never creates a datafile just to read nothing from it. */
  private async existingCollection(scope: CollectionScope): Promise<Collection | null> {
    if (!this.closed && !this.open.has(this.fileFor(scope))) {
      try {
        await access(this.fileFor(scope));
      } catch {
        if (!this.open.has(this.fileFor(scope))) return null;
      }
    }
    return this.collection(scope);
  }

  private fileFor(scope: CollectionScope): string {
    return path.join(this.dir, safeSegment(scope.appKey), `${safeSegment(scope.collection)}.db`);
  }
}

/**
 * Turns a name into one safe path segment. Characters outside `[A-Za-z0-9_.-]` and a leading dot
 * (so `.`, `..` and hidden files cannot occur) become `~XX` per UTF-8 byte; `~` itself is encoded,
 * so distinct names always get distinct segments.
 */
export function safeSegment(name: string): string {
  if (name.length === 0) throw new StoreError('invalid', 'names must not be empty');
  const encoded = name.replace(/^\.|[^A-Za-z0-9_.-]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((byte) => `~${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  if (encoded.length > 200) throw new StoreError('invalid', `name too long: ${name.slice(0, 40)}...`);
  return encoded;
}

/** A nedb query that delegates matching to our MongoDB-semantics predicate. */
function where(filter: Filter): Record<string, unknown> {
  if (Object.keys(filter).length === 0) return {};
  const matches = compileFilter(filter);
  // nedb calls $where with the stored document as `this`; the function is ours, never the client's.
  return { $where: function (this: StoredDocument) { return matches(this); } };
}

function byId(id: string, filter?: Filter): Record<string, unknown> {
  return filter && Object.keys(filter).length > 0 ? { _id: id, ...where(filter) } : { _id: id };
}

/** Runs a nedb write and turns its constraint errors into StoreErrors. */
async function translate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const error = err as Error & { errorType?: string };
    if (error.errorType === 'uniqueViolated') throw new StoreError('duplicate', error.message, { cause: err });
    if (/^Field names cannot/.test(error.message ?? '')) throw new StoreError('invalid', error.message, { cause: err });
    throw err;
  }
}
