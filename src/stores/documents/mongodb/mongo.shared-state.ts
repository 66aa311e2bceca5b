/**
 * SharedState in MongoDB: collections in each app's database, so every kinbase instance on the
 * same server counts failed logins and logs Business Logic failures together.
 *
 * - An event is one document `{_id: <ordered id>, key: <key hash>, at, expires}`: adding one is an
 *   insert, atomic on every MongoDB-compatible server, and a count made after it sees it. (An
 *   upserting `$inc` would be simpler, but FerretDB 1.x loses concurrent ones: 20 concurrent
 *   `findOneAndUpdate({$inc})` upserts read 2, 3, 4 ... instead of 1 to 20.)
 * - A mark is one document `{_id: 'mark:' + <key hash>, value, expires}`, replaced by each write.
 * - There is no TTL index (FerretDB 1.x has none): expired events and marks are removed by a
 *   `deleteMany` on `expires`, at most once a minute per app, from the writes themselves.
 * - A log entry is one document with an ordered id; appending trims the log past `keep` with one
 *   `deleteMany` below the `keep`-th newest id.
 */
import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { SharedCounters, SharedLogs, SharedState, StoredDocument } from '../../../domain/ports';
import { hashed } from '../embedded/sqlite/shared-state';
import { translate } from './mongo-errors';

export const EVENTS_COLLECTION = '_kinbaseEvents';
export const LOGS_COLLECTION = '_kinbaseLogs';
const CLEANUP_EVERY_MS = 60_000;

interface EventDoc {
  _id: string;
  key: string;
  at?: number;
  value?: number;
  expires: number;
}

type CollectionOf = (appKey: string, name: string) => Collection<StoredDocument>;

export class MongoSharedState implements SharedState, SharedCounters, SharedLogs {
  private readonly lastCleanup = new Map<string, number>();
  private readonly indexed = new Map<string, Promise<void>>();
  private sequence = 0;

  constructor(
    private readonly collectionOf: CollectionOf,
    private readonly maxTimeMS: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get counters(): SharedCounters {
    return this;
  }

  get logs(): SharedLogs {
    return this;
  }

  async add(appKey: string, key: string, at: number, expiresAt: number): Promise<void> {
    const events = await this.events(appKey);
    this.cleanupNowAndThen(appKey, events);
    await translate(() => events.insertOne({ _id: this.orderedId(), key: hashed(key), at, expires: expiresAt }));
  }

  async newest(appKey: string, key: string, since: number, limit: number): Promise<number[]> {
    const events = await this.events(appKey);
    const docs = await translate(() =>
      events
        .find({ key: hashed(key), at: { $gt: since } }, { projection: { at: 1 }, maxTimeMS: this.maxTimeMS })
        .sort({ at: -1, _id: -1 })
        .limit(limit)
        .toArray(),
    );
    return docs.map((doc) => doc.at ?? 0);
  }

  async removeOne(appKey: string, key: string, since: number): Promise<void> {
    const events = await this.events(appKey);
    const [newest] = await translate(() =>
      events
        .find({ key: hashed(key), at: { $gt: since } }, { projection: { _id: 1 }, maxTimeMS: this.maxTimeMS })
        .sort({ at: -1, _id: -1 })
        .limit(1)
        .toArray(),
    );
    if (newest) await translate(() => events.deleteOne({ _id: newest._id }, { maxTimeMS: this.maxTimeMS }));
  }

  async clear(appKey: string, key: string): Promise<void> {
    const events = await this.events(appKey);
    const hash = hashed(key);
    await translate(() => events.deleteMany({ key: { $in: [hash, `mark:${hash}`] } }, { maxTimeMS: this.maxTimeMS }));
  }

  async mark(appKey: string, key: string, value: number, expiresAt: number): Promise<void> {
    const events = await this.events(appKey);
    const hash = hashed(key);
    await translate(() =>
      events.replaceOne(
        { _id: `mark:${hash}` },
        { key: `mark:${hash}`, value, expires: expiresAt },
        { upsert: true, maxTimeMS: this.maxTimeMS },
      ),
    );
  }

  async markOf(appKey: string, key: string): Promise<number | undefined> {
    const events = await this.events(appKey);
    const doc = await translate(() =>
      events.findOne({ _id: `mark:${hashed(key)}`, expires: { $gt: this.now() } }, { maxTimeMS: this.maxTimeMS }),
    );
    return doc?.value;
  }

  async append(appKey: string, log: string, entry: Record<string, unknown>, keep: number): Promise<void> {
    const logs = this.collectionOf(appKey, LOGS_COLLECTION);
    await translate(() => logs.insertOne({ _id: this.orderedId(), log, entry }));
    const [oldestKept] = await translate(() =>
      logs
        .find({ log }, { projection: { _id: 1 }, maxTimeMS: this.maxTimeMS })
        .sort({ _id: -1 })
        .skip(keep - 1)
        .limit(1)
        .toArray(),
    );
    if (oldestKept)
      await translate(() => logs.deleteMany({ log, _id: { $lt: oldestKept._id } }, { maxTimeMS: this.maxTimeMS }));
  }

  async recent(appKey: string, log: string, limit: number): Promise<Record<string, unknown>[]> {
    const docs = await translate(() =>
      this.collectionOf(appKey, LOGS_COLLECTION)
        .find({ log }, { maxTimeMS: this.maxTimeMS })
        .sort({ _id: -1 })
        .limit(limit)
        .toArray(),
    );
    return docs.map((doc) => doc.entry as Record<string, unknown>);
  }

  /** The app's event collection, with its index on `key` made once per app and process. */
  private async events(appKey: string): Promise<Collection<EventDoc>> {
    const collection = this.collectionOf(appKey, EVENTS_COLLECTION) as unknown as Collection<EventDoc>;
    let indexed = this.indexed.get(appKey);
    if (!indexed) {
      indexed = translate(async () => void (await collection.createIndex({ key: 1 })));
      indexed.catch(() => this.indexed.delete(appKey));
      if (this.indexed.size >= 10_000) this.indexed.clear();
      this.indexed.set(appKey, indexed);
    }
    await indexed;
    return collection;
  }

  /** Time first, then this process's sequence and a random tail: unique across instances, in order. */
  private orderedId(): string {
    const seq = (this.sequence = (this.sequence + 1) % 1_679_616);
    return `${this.now().toString(36).padStart(10, '0')}${seq.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
  }

  /** Removes the app's expired events and marks at most once a minute; a failure is left to the next one. */
  private cleanupNowAndThen(appKey: string, events: Collection<EventDoc>): void {
    const now = this.now();
    if (now - (this.lastCleanup.get(appKey) ?? 0) < CLEANUP_EVERY_MS) return;
    if (this.lastCleanup.size >= 10_000) this.lastCleanup.clear();
    this.lastCleanup.set(appKey, now);
    events.deleteMany({ expires: { $lte: now } }, { maxTimeMS: this.maxTimeMS }).catch(() => undefined);
  }

  private now(): number {
    return this.clock().getTime();
  }
}
