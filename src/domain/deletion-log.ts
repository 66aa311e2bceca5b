/**
 * Tombstones for delta sets (`_deltaset`). In a collection configured with `deltaSet: true`, every
 * deletion (by id, by query, or with the whole collection) first leaves a tombstone in the app's
 * internal `_tombstone` collection: `{_id: "<collection>/<entityId>", kind: "tombstone",
 * collection, entityId, deletedAt, _acl}`. The tombstone keeps the entity's `_acl`, so the same
 * readFilter that decides who could read the entity decides who learns that it went. Tombstones
 * are written before the deletion: a crash in between leaves a tombstone of an entity that still
 * exists (the client drops it from its cache and gets it back with the next full read), never a
 * deletion no delta set reports.
 *
 * One `kind: "tracking"` document per tracked collection (`_id` = the collection name, which has
 * no `/`) records since when its deletions are complete: the start of the first process that
 * tracked it without interruption. Collections no longer tracked lose their tombstones and this
 * record the first time a process touches the app, so a collection switched off and on again
 * starts afresh and older `since` values are refused.
 */
import { StoreError, type CollectionScope, type DocumentStore, type Filter, type StoredDocument } from '../ports';
import { isPlainObject, restrict } from './acl';

export const TOMBSTONE_COLLECTION = '_tombstone';
/** Entities deleted per round of a delete by query: bounds memory whatever the collection size. */
const DELETE_BATCH = 200;
/** Expired tombstones of one collection are purged at most this often. */
const PURGE_INTERVAL_MS = 60_000;

export interface DeletionLogOptions {
  clock: () => Date;
  /** How long tombstones are kept; an older `since` is refused. */
  retentionDays: number;
  /** The collections of an app whose deletions are tracked (configured with `deltaSet: true`). */
  trackedCollections: (appKey: string) => readonly string[];
}

export class DeletionLog {
  private readonly startedAt: string;
  private readonly reconciled = new Map<string, Promise<void>>();
  private readonly lastPurge = new Map<string, number>();

  constructor(private readonly store: DocumentStore, private readonly options: DeletionLogOptions) {
    this.startedAt = options.clock().toISOString();
  }

  get retentionDays(): number {
    return this.options.retentionDays;
  }

  /** Whether this collection's deletions are tracked (its delta set is enabled). */
  isTracked(scope: CollectionScope): boolean {
    return this.options.trackedCollections(scope.appKey).includes(scope.collection);
  }

  /**
   * Deletes one entity the caller has checked may go (only if it still matches `filter`), leaving
   * a tombstone when the collection is tracked. Returns whether it went.
   */
  async deleteOne(scope: CollectionScope, existing: StoredDocument, filter?: Filter): Promise<boolean> {
    if (!(await this.tracks(scope))) return this.store.deleteById(scope, existing._id, filter);
    await this.record(scope, [existing]);
    const gone = await this.store.deleteById(scope, existing._id, filter);
    if (!gone) await this.dropIfStillThere(scope, [existing._id]);
    return gone;
  }

  /**
   * Deletes every entity matching `filter`, leaving tombstones when the collection is tracked
   * (in rounds of at most 200 entities, each deleted only if it still matches). Returns how many went.
   */
  async deleteMatching(scope: CollectionScope, filter: Filter): Promise<number> {
    if (!(await this.tracks(scope))) return this.store.deleteMany(scope, filter);
    let total = 0;
    let idleRounds = 0;
    for (;;) {
      const batch = await this.store.find(scope, filter, { limit: DELETE_BATCH, fields: ['_acl'] });
      if (batch.length === 0) return total;
      const ids = batch.map((doc) => doc._id);
      await this.record(scope, batch);
      const removed = await this.store.deleteMany(scope, restrict(filter, { _id: { $in: ids } }));
      total += removed;
      // Found but not deleted: changed concurrently so that it no longer matches; it still exists.
      if (removed < ids.length) await this.dropIfStillThere(scope, ids);
      // Never spin on entities that keep being found but cannot be deleted.
      idleRounds = removed === 0 ? idleRounds + 1 : 0;
      if (idleRounds >= 3) return total;
    }
  }

  /**
   * Since when this collection's deletions are complete (ISO string), or null if it is not tracked.
   */
  async trackedSince(scope: CollectionScope): Promise<string | null> {
    if (!(await this.tracks(scope))) return null;
    const [record] = await this.store.findByIds(this.tombstones(scope), [scope.collection]);
    return typeof record?.since === 'string' ? record.since : this.startedAt;
  }

  /**
   * Ids of entities deleted at or after `since` whose tombstone matches `aclFilter` (the reader's
   * readFilter, null for everything), at most `limit` of them. Purges expired tombstones first.
   */
  async deletedSince(scope: CollectionScope, since: string, aclFilter: Filter | null, limit: number): Promise<string[]> {
    await this.purgeExpired(scope);
    const filter = restrict({ kind: 'tombstone', collection: scope.collection, deletedAt: { $gte: since } }, aclFilter);
    const found = await this.store.find(this.tombstones(scope), filter, { limit, fields: ['entityId'] });
    return found.map((doc) => String(doc.entityId));
  }

  private async tracks(scope: CollectionScope): Promise<boolean> {
    await this.reconcile(scope.appKey);
    return this.isTracked(scope);
  }

  private async record(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void> {
    const deletedAt = this.options.clock().toISOString();
    await Promise.all(docs.map((doc) => this.store.upsert(this.tombstones(scope), {
      _id: `${scope.collection}/${doc._id}`,
      kind: 'tombstone',
      collection: scope.collection,
      entityId: doc._id,
      deletedAt,
      _acl: isPlainObject(doc._acl) ? doc._acl : {},
    })));
  }

  private async dropIfStillThere(scope: CollectionScope, ids: readonly string[]): Promise<void> {
    const remaining = await this.store.findByIds(scope, ids);
    if (remaining.length === 0) return;
    await this.store.deleteMany(this.tombstones(scope), { _id: { $in: remaining.map((doc) => `${scope.collection}/${doc._id}`) } });
  }

  private async purgeExpired(scope: CollectionScope): Promise<void> {
    const key = `${scope.appKey}/${scope.collection}`;
    const now = this.options.clock().getTime();
    if (now - (this.lastPurge.get(key) ?? -Infinity) < PURGE_INTERVAL_MS) return;
    this.lastPurge.set(key, now);
    const cutoff = new Date(now - this.options.retentionDays * 86_400_000).toISOString();
    await this.store.deleteMany(this.tombstones(scope), { kind: 'tombstone', collection: scope.collection, deletedAt: { $lt: cutoff } });
  }

  /** Once per app and process: indexes, forget untracked collections, start tracking new ones. */
  private reconcile(appKey: string): Promise<void> {
    let done = this.reconciled.get(appKey);
    if (!done) {
      done = this.reconcileNow(appKey);
      done.catch(() => this.reconciled.delete(appKey)); // retried by the next request
      this.reconciled.set(appKey, done);
    }
    return done;
  }

  private async reconcileNow(appKey: string): Promise<void> {
    const scope = { appKey, collection: TOMBSTONE_COLLECTION };
    const tracked = [...this.options.trackedCollections(appKey)];
    await Promise.all(['collection', 'deletedAt'].map((field) => this.store.ensureIndex(scope, { field })));
    await this.store.deleteMany(scope, { collection: { $nin: tracked } });
    for (const collection of tracked) {
      try {
        await this.store.insert(scope, { _id: collection, kind: 'tracking', collection, since: this.startedAt });
      } catch (err) {
        if (!(err instanceof StoreError && err.kind === 'duplicate')) throw err; // tracked since an earlier start
      }
    }
  }

  private tombstones(scope: CollectionScope): CollectionScope {
    return { appKey: scope.appKey, collection: TOMBSTONE_COLLECTION };
  }
}
