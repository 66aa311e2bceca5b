/**
 * The reference the differential property tests hold every document store to: a DocumentStore
 * that answers each read by scanning all documents of the collection in memory through the
 * MongoDB-semantics matcher, ordering and projection (src/stores/documents/mongo-semantics/, themselves
 * held to MongoDB by the contract suite). No plan, no index, no shortcut: what an index changes in
 * a real store's answer shows up as a difference from this one.
 */
import {
  StoreError,
  type CollectionScope,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type GroupSpec,
  type GroupStats,
  type StoredDocument,
} from '../../src/domain/ports';
import { GroupAccumulator } from '../../src/stores/documents/mongo-semantics/group-accumulator';
import { DEFAULT_MAX_RESULT_BYTES } from '../../src/stores/documents/result-budget';
import { compileFilter, projectDocument, sortDocuments } from '../../src/stores/documents/mongo-semantics/matcher';

export class ReferenceDocumentStore implements DocumentStore {
  private readonly collections = new Map<string, Map<string, StoredDocument>>();

  async insert(scope: CollectionScope, doc: StoredDocument): Promise<void> {
    const docs = this.docs(scope);
    if (docs.has(doc._id)) throw new StoreError('duplicate', `duplicate _id ${doc._id}`);
    docs.set(doc._id, copy(doc));
  }

  async upsert(scope: CollectionScope, doc: StoredDocument): Promise<{ created: boolean }> {
    const docs = this.docs(scope);
    const created = !docs.has(doc._id);
    docs.set(doc._id, copy(doc));
    return { created };
  }

  async scan(scope: CollectionScope, after: string | null, limit: number): Promise<StoredDocument[]> {
    return [...this.docs(scope).values()]
      .filter((d) => after === null || d._id > after)
      .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
      .slice(0, limit)
      .map(copy);
  }

  async putMany(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void> {
    for (const doc of docs) await this.upsert(scope, doc);
  }

  async replace(scope: CollectionScope, doc: StoredDocument, filter: Filter = {}): Promise<boolean> {
    if (!this.matching(scope, filter).some((d) => d._id === doc._id)) return false;
    this.docs(scope).set(doc._id, copy(doc));
    return true;
  }

  /** `$set` of top-level fields and of dotted paths through objects (what the domain sets). */
  async setFields(
    scope: CollectionScope,
    id: string,
    fields: Record<string, unknown>,
    filter: Filter = {},
  ): Promise<boolean> {
    const doc = this.matching(scope, filter).find((d) => d._id === id);
    if (!doc) return false;
    for (const [dotted, value] of Object.entries(fields)) {
      const segments = dotted.split('.');
      let node = doc as Record<string, unknown>;
      for (const segment of segments.slice(0, -1)) {
        const next = node[segment];
        if (typeof next !== 'object' || next === null || Array.isArray(next) || next instanceof Date)
          throw new Error(`the reference sets through objects only (${dotted})`);
        node = next as Record<string, unknown>;
      }
      node[segments[segments.length - 1] as string] = copy(value);
    }
    this.docs(scope).set(id, doc);
    return true;
  }

  async find(scope: CollectionScope, filter: Filter, options: FindOptions = {}): Promise<StoredDocument[]> {
    const skip = options.skip ?? 0;
    const sorted = sortDocuments(this.matching(scope, filter), options.sort ?? []);
    // limit 0 means no limit, as in MongoDB.
    const page = sorted.slice(skip, options.limit ? skip + options.limit : undefined);
    return options.fields ? page.map((doc) => projectDocument(doc, options.fields as string[])) : page;
  }

  async findByIds(scope: CollectionScope, ids: readonly string[], filter: Filter = {}): Promise<StoredDocument[]> {
    return this.matching(scope, filter).filter((doc) => ids.includes(doc._id));
  }

  async count(scope: CollectionScope, filter: Filter): Promise<number> {
    return this.matching(scope, filter).length;
  }

  async group(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]> {
    const groups = new GroupAccumulator(spec, DEFAULT_MAX_RESULT_BYTES);
    for (const doc of this.matching(scope, filter)) if (!groups.add(doc)) break;
    return groups.results();
  }

  async deleteById(scope: CollectionScope, id: string, filter: Filter = {}): Promise<boolean> {
    return this.matching(scope, filter).some((doc) => doc._id === id) && this.docs(scope).delete(id);
  }

  async deleteMany(scope: CollectionScope, filter: Filter): Promise<number> {
    const gone = this.matching(scope, filter);
    for (const doc of gone) this.docs(scope).delete(doc._id);
    return gone.length;
  }

  async listCollections(appKey: string): Promise<string[]> {
    const prefix = `${appKey}\u0000`;
    return [...this.collections]
      .filter(([key, docs]) => key.startsWith(prefix) && docs.size > 0)
      .map(([key]) => key.slice(prefix.length))
      .sort();
  }

  async ensureIndex(): Promise<void> {}

  async close(): Promise<void> {}

  /** Copies of every document matching `filter`, in `_id` order. */
  private matching(scope: CollectionScope, filter: Filter): StoredDocument[] {
    const matches = compileFilter(filter);
    return sortDocuments([...this.docs(scope).values()].filter((doc) => matches(doc)).map(copy));
  }

  private docs(scope: CollectionScope): Map<string, StoredDocument> {
    const key = `${scope.appKey}\u0000${scope.collection}`;
    let docs = this.collections.get(key);
    if (!docs) this.collections.set(key, (docs = new Map()));
    return docs;
  }
}

/** A deep copy in this realm (structuredClone makes Dates of another realm, which `instanceof` misses). */
export function copy<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copy) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  return value;
}
