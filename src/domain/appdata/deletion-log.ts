/**
 * Tombstones for delta sets (`_deltaset`). In a collection configured with `deltaSet: true`, every
 * deletion (by id, by query, or with the whole collection) first leaves a tombstone in the app's
 * internal `_tombstone` collection: `{_id: "<collection>/<entityId>/<random>", kind: "tombstone",
 * collection, entityId, deletedAt, _acl, readers}`. The tombstone keeps the entity's `_acl`, so the
 * same ACL scope that decides who could read the entity decides who learns that it went. Tombstones
 * are written before the deletion: a crash in between leaves a tombstone of an entity that still
 * exists (the client drops it from its cache and gets it back with the next full read), never a
 * deletion no delta set reports.
 *
 * One tombstone per deletion, never one per id: a user who creates and deletes an id another user
 * had deleted must not replace that user's tombstone (and its ACL) with their own. Once a deletion
 * has gone through, the older tombstones of the same id with the same `_acl` (the same `readers`
 * digest) are dropped: the new one tells every reader they could tell, later, so repeatedly deleting
 * one id keeps one tombstone per distinct ACL. Tombstones written before this scheme
 * (`_id: "<collection>/<entityId>"`, no `readers`) are read the same way and expire with the rest.
 *
 * One `kind: "tracking"` document per tracked collection (`_id` = the collection name, which has
 * no `/`) records since when its deletions are complete: the start of the first process that
 * tracked it without interruption. Collections no longer tracked lose their tombstones and this
 * record the first time a process touches the app, so a collection switched off and on again
 * starts afresh and older `since` values are refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { StoreError, type CollectionScope, type DocumentStore, type Filter, type StoredDocument } from '../ports';
import { isPlainObject, restrict } from '../access/acl';
import type { AclScope } from '../access/acl-scope';
import type { MonotonicClock } from './monotonic-clock';

export const TOMBSTONE_COLLECTION = '_tombstone';
/** Entities deleted per round of a delete by query: bounds memory whatever the collection size. */
const DELETE_BATCH = 200;
/** Expired tombstones of one collection are purged at most this often. */
const PURGE_INTERVAL_MS = 60_000;

export interface DeletionLogOptions {
  /** Start of tracking and tombstone expiry. */
  clock: () => Date;
  /** Stamps `deletedAt`: the clock of `_kmd.lmt` and request starts, so `since` compares exactly. */
  writeClock: MonotonicClock;
  /** How long tombstones are kept; an older `since` is refused. */
  retentionDays: number;
  /** The collections of an app whose deletions are tracked (configured with `deltaSet: true`). */
  trackedCollections: (appKey: string) => readonly string[];
}

export class DeletionLog {
  private readonly startedAt: string;
  private readonly reconciled = new Map<string, Promise<void>>();
  private readonly lastPurge = new Map<string, number>();

  constructor(
    private readonly store: DocumentStore,
    private readonly options: DeletionLogOptions,
  ) {
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
    return this.options.writeClock.write(async (stamp) => {
      const written = await this.record(scope, [existing], stamp);
      const gone = await this.store.deleteById(scope, existing._id, filter);
      await this.settle(scope, written, gone ? [] : [existing._id]);
      return gone;
    });
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
      const batch = await this.store.find(scope, filter, { limit: DELETE_BATCH, fields: ['_acl', '_kmd'] });
      if (batch.length === 0) return total;
      const removed = await this.options.writeClock.write(async (stamp) => {
        const ids = batch.map((doc) => doc._id);
        const written = await this.record(scope, batch, stamp);
        const count = await this.store.deleteMany(scope, restrict(filter, { _id: { $in: ids } }));
        // Found but not deleted: changed concurrently so that it no longer matches; it still exists.
        // One with the id but another `_kmd.ect` was created after this round deleted the one found.
        const createdAt = new Map(batch.map((doc) => [doc._id, creationOf(doc)]));
        const remaining =
          count < ids.length
            ? (await this.store.findByIds(scope, ids))
                .filter((doc) => creationOf(doc) === createdAt.get(doc._id))
                .map((doc) => doc._id)
            : [];
        await this.settle(scope, written, remaining);
        return count;
      });
      total += removed;
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
   * Ids of entities deleted at or after `since` whose tombstone the reader's `acl` scope may read
   * (a tombstone carries its entity's `_acl`), each once, from at most `limit` tombstones; `more` says that
   * further tombstones matched (an id may have several, so fewer ids than tombstones may come
   * back). Purges expired tombstones first.
   */
  async deletedSince(
    scope: CollectionScope,
    since: string,
    acl: Pick<AclScope, 'readable'>,
    limit: number,
  ): Promise<{ ids: string[]; more: boolean }> {
    await this.purgeExpired(scope);
    const filter = acl.readable({ kind: 'tombstone', collection: scope.collection, deletedAt: { $gte: since } });
    const found = await this.store.find(this.tombstones(scope), filter, { limit: limit + 1, fields: ['entityId'] });
    const ids = [...new Set(found.slice(0, limit).map((doc) => String(doc.entityId)))];
    return { ids, more: found.length > limit };
  }

  private async tracks(scope: CollectionScope): Promise<boolean> {
    await this.reconcile(scope.appKey);
    return this.isTracked(scope);
  }

  /** Writes one tombstone per document; returns their `_id` and `readers` digest by entity id. */
  private async record(
    scope: CollectionScope,
    docs: readonly StoredDocument[],
    stamp: Date,
  ): Promise<Map<string, Written>> {
    const deletedAt = stamp.toISOString();
    const written = new Map<string, Written>();
    for (const doc of docs) {
      const acl = isPlainObject(doc._acl) ? doc._acl : {};
      written.set(doc._id, {
        key: `${scope.collection}/${doc._id}/${randomBytes(12).toString('hex')}`,
        readers: readersDigest(scope.collection, doc._id, acl),
        deletedAt,
        acl,
      });
    }
    await Promise.all(
      [...written].map(([entityId, t]) =>
        this.store.insert(this.tombstones(scope), {
          _id: t.key,
          kind: 'tombstone',
          collection: scope.collection,
          entityId,
          deletedAt,
          _acl: t.acl,
          readers: t.readers,
        }),
      ),
    );
    return written;
  }

  /**
   * After the deletion: drops the tombstones of entities that were not deleted after all (they
   * still exist), and the older tombstones that the new ones of deleted entities make redundant
   * (same entity, same ACL, earlier `deletedAt`: every reader of those reads the new one).
   */
  private async settle(
    scope: CollectionScope,
    written: ReadonlyMap<string, Written>,
    stillThere: readonly string[],
  ): Promise<void> {
    const kept = new Set(stillThere);
    const dropped = [...written].filter(([id]) => kept.has(id)).map(([, t]) => t.key);
    if (dropped.length > 0) await this.store.deleteMany(this.tombstones(scope), { _id: { $in: dropped } });
    const superseding = [...written].filter(([id]) => !kept.has(id)).map(([, t]) => t);
    const [first] = superseding;
    if (!first) return;
    // Strictly earlier only: a concurrent deletion's tombstone of the same stamp or a later one stays.
    await this.store.deleteMany(this.tombstones(scope), {
      kind: 'tombstone',
      collection: scope.collection,
      readers: { $in: superseding.map((t) => t.readers) },
      deletedAt: { $lt: first.deletedAt },
    });
  }

  private async purgeExpired(scope: CollectionScope): Promise<void> {
    const key = `${scope.appKey}/${scope.collection}`;
    const now = this.options.clock().getTime();
    if (now - (this.lastPurge.get(key) ?? -Infinity) < PURGE_INTERVAL_MS) return;
    this.lastPurge.set(key, now);
    const cutoff = new Date(now - this.options.retentionDays * 86_400_000).toISOString();
    await this.store.deleteMany(this.tombstones(scope), {
      kind: 'tombstone',
      collection: scope.collection,
      deletedAt: { $lt: cutoff },
    });
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
    await Promise.all(['collection', 'deletedAt', 'readers'].map((field) => this.store.ensureIndex(scope, { field })));
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

/** When this entity was created (`_kmd.ect`), if it says. */
function creationOf(doc: StoredDocument): unknown {
  return isPlainObject(doc._kmd) ? doc._kmd.ect : undefined;
}

interface Written {
  key: string;
  readers: string;
  deletedAt: string;
  acl: Record<string, unknown>;
}

/**
 * Which entity this is a tombstone of and who may read it: a digest of the collection, the entity
 * id and the `_acl` (keys sorted, so equal ACLs agree however their keys were ordered).
 */
function readersDigest(collection: string, entityId: string, acl: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify([collection, entityId, canonical(acl)]))
    .digest('base64url');
}

/** A JSON value with object keys sorted, tagged so that objects and arrays never encode alike (no objects built from client keys). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return ['array', value.map(canonical)];
  if (isPlainObject(value))
    return [
      'object',
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical(value[key])]),
    ];
  return value;
}
