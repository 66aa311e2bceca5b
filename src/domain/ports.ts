/**
 * The interfaces the domain needs from the outside world. Adapters live in src/stores/; the domain
 * never imports a driver. Every adapter translates its driver's errors into StoreError.
 */
import type { Readable } from 'node:stream';

/** A stored document. `_id` is always a string: never coerced to an ObjectId. */
export interface StoredDocument {
  _id: string;
  [field: string]: unknown;
}

/** A MongoDB query filter, already sanitised by the domain (no code-running operators). */
export type Filter = Record<string, unknown>;

/**
 * One alternative of an ACL clause: a condition on `_acl.*` fields only (`{'_acl.creator': id}`,
 * `{'_acl.gr': true}`, `{'_acl.groups.r': {$in: ids}}`, ...).
 */
export type AclBranch = Readonly<Record<`_acl.${string}`, unknown>>;

/**
 * The ACL part of a query, built only by `domain/access/acl-scope.ts`: the documents a principal
 * may read (or write), as an `$or` of AclBranch, or no document at all (`{_id: {$in: []}}`, for a
 * principal that may touch none). Every field it names is in the scope's ACL_INDEX_FIELDS, so an
 * adapter can always plan it from an index.
 */
export type AclClause = { readonly $or: readonly AclBranch[] } | { readonly _id: { readonly $in: readonly [] } };

/**
 * A query restricted by the ACL, as the domain hands it to a DocumentStore. Security contract:
 * the ACL clause comes FIRST, as the whole filter or as the first clause of a top-level `$and`
 * (`{$and: [acl, query]}`). The embedded engine evaluates `$and` in order and stops at the first
 * clause that fails, and its planner looks rows up from the first clause only (see
 * `aclClauseOf`), so a reader's own conditions (a regex probe, say) never run on, and their index
 * lookups never count, a document the reader cannot read: their cost reveals nothing about it.
 * Adapters without such a planner (MongoDB) answer the same filter with the same documents.
 */
export type ScopedFilter = AclClause | { readonly $and: readonly [AclClause, Filter] };

/**
 * The `_acl` flags whose branch (`{'_acl.<flag>': true}`) makes a document readable by every
 * principal that may read the collection. The embedded engine keeps a separate index of such
 * documents so a reader's condition can be looked up among them alone.
 */
export const READABLE_BY_ALL_FLAGS: readonly string[] = ['gr', 'gw'];

/** Whether `branch` is an ACL branch granting read to all (`{'_acl.gr': true}` or `{'_acl.gw': true}`). */
export function isReadableByAllBranch(branch: Filter): boolean {
  const keys = Object.keys(branch);
  return keys.length === 1 && READABLE_BY_ALL_FLAGS.some((flag) => branch[`_acl.${flag}`] === true);
}

/**
 * Whether a filter clause is (or holds) an ACL condition: it names an `_acl` field at any depth of
 * its operators. An adapter that plans from the first clause of a ScopedFilter never lets such a
 * clause give way to the clauses after it, not even while its indexes are being built.
 */
export function isAclClause(clause: unknown): boolean {
  if (Array.isArray(clause)) return clause.some(isAclClause);
  if (typeof clause !== 'object' || clause === null) return false;
  return Object.entries(clause).some(
    ([key, value]) => key === '_acl' || key.startsWith('_acl.') || (key.startsWith('$') && isAclClause(value)),
  );
}

/** Sort keys in priority order, 1 ascending, -1 descending. Ties are always broken by `_id` ascending. */
export type SortSpec = ReadonlyArray<readonly [field: string, direction: 1 | -1]>;

export interface FindOptions {
  sort?: SortSpec;
  skip?: number;
  limit?: number;
  /** Top-level or dotted fields to return; `_id` is always returned. Absent = whole documents. */
  fields?: readonly string[];
}

/** Which documents: one collection of one app. Names are validated by the domain before use. */
export interface CollectionScope {
  readonly appKey: string;
  readonly collection: string;
}

/** `too-large`: the answer would exceed the adapter's result budget (a client asked for too much). */
export type StoreErrorKind = 'duplicate' | 'unavailable' | 'invalid' | 'too-large';

/** The one error type adapters throw for expected failures; anything else is a bug (500). */
export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface IndexSpec {
  /** Dotted field path. */
  field: string;
  unique?: boolean;
  /** Skip documents without the field (needed for unique optional fields). */
  sparse?: boolean;
}

/**
 * What `group` computes per group. `count`: documents per group; `sum`: the sum of the numeric
 * values of `field`; `numeric`: count, plus how many numeric values of `field` there were, their
 * sum, minimum and maximum. Only what was asked for is meaningful in the answer.
 */
export interface GroupSpec {
  /** Dotted paths whose values together name a group; empty: all matching documents form one group. */
  keys: readonly string[];
  /** Dotted path of the aggregated field (for `sum` and `numeric`). */
  field?: string;
  statistics: 'count' | 'sum' | 'numeric';
  /** The adapter stops once it has more than this many groups and returns maxGroups + 1 of them. */
  maxGroups: number;
  /**
   * Characters of JSON each group adds to the answer besides its key values (the caller's row:
   * `initial`, field names, numbers). Charged with the key values against the adapter's result
   * budget, the cap lists have. Default 0.
   */
  bytesPerGroup?: number;
  /** Most characters of JSON the key values of one group may take. Default: only the budget. */
  maxKeyBytes?: number;
}

/** One group: its key values (in `keys` order; a missing field is null) and its statistics. */
export interface GroupStats {
  key: unknown[];
  count: number;
  /** How many documents had a number (not an array) at `field`. */
  numeric: number;
  sum: number;
  min: number | null;
  max: number | null;
}

/**
 * Document persistence for every app and collection. Collections exist implicitly: reading a
 * collection that was never written returns nothing, writing creates it. A filter restricted by
 * the ACL arrives as a ScopedFilter (ACL clause first); an adapter that plans must keep to it.
 */
export interface DocumentStore {
  /** Inserts a new document. Throws StoreError('duplicate') if the `_id` (or a unique index) is taken. */
  insert(scope: CollectionScope, doc: StoredDocument): Promise<void>;
  /** Replaces the whole document with this `_id`, or inserts it. Returns whether it was created. */
  upsert(scope: CollectionScope, doc: StoredDocument): Promise<{ created: boolean }>;
  /**
   * Upserts a batch of documents exactly as given, by `_id` (kinbase's own tools: import, pull;
   * never a request). Each document is written whole or not at all; running the same batch again
   * changes nothing. Throws StoreError('duplicate') when a unique index other than `_id` refuses one.
   */
  putMany(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<void>;
  /**
   * Replaces the document only if it exists and still matches `filter` (used for ACL-checked and
   * optimistic writes). Returns false when nothing matched. Throws StoreError('duplicate') on a
   * unique index violation.
   */
  replace(scope: CollectionScope, doc: StoredDocument, filter?: Filter): Promise<boolean>;
  /** Sets (dotted) fields on the document with this `_id`; returns false if there is none. */
  setFields(scope: CollectionScope, id: string, fields: Record<string, unknown>, filter?: Filter): Promise<boolean>;
  /** Documents matching `filter`, in `sort` order then `_id` ascending (a stable default order). */
  find(scope: CollectionScope, filter: Filter, options?: FindOptions): Promise<StoredDocument[]>;
  /**
   * Every document of the collection, a page at a time in `_id` order, exactly as stored: up to
   * `limit` documents with an `_id` after `after` (from the first when null), fewer (at least one)
   * when they are large. Empty past the end. For kinbase's own tools (export), never a request.
   */
  scan(scope: CollectionScope, after: string | null, limit: number): Promise<StoredDocument[]>;
  /** Documents with these ids that also match `filter`, in no particular order. */
  findByIds(scope: CollectionScope, ids: readonly string[], filter?: Filter): Promise<StoredDocument[]>;
  count(scope: CollectionScope, filter: Filter): Promise<number>;
  /**
   * Groups the documents matching `filter` by `spec.keys` and computes `spec.statistics`, in one
   * pass with memory proportional to the number of groups. Groups come in no particular order.
   * Throws StoreError('too-large') as soon as a group's key values exceed `spec.maxKeyBytes`, or
   * the groups found so far (key values plus `spec.bytesPerGroup` each) exceed the result budget.
   */
  group(scope: CollectionScope, filter: Filter, spec: GroupSpec): Promise<GroupStats[]>;
  /** Deletes the document with this `_id` if it also matches `filter`; returns whether one went. */
  deleteById(scope: CollectionScope, id: string, filter?: Filter): Promise<boolean>;
  /** Deletes every document matching `filter`; returns how many went. */
  deleteMany(scope: CollectionScope, filter: Filter): Promise<number>;
  /**
   * Names of this app's collections (never another app's), sorted. Every collection that holds a
   * document is listed; one that holds none (emptied, or only indexed) may be listed too, so a
   * caller that cares counts it. Internal collections (`_session`, `user`, ...) are listed like any
   * other: telling them apart is the domain's business.
   */
  listCollections(appKey: string): Promise<string[]>;
  /** Creates the index if missing. Idempotent; cheap to call repeatedly. */
  ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void>;
  /** Flushes and releases everything (files, connections). */
  close(): Promise<void>;
  /**
   * The counters and logs every instance on this store shares (see SharedState), expiring by
   * `clock` (the wall clock by default). Adapters that have none leave it out, and the instance
   * keeps them in its own memory.
   */
  sharedState?(clock?: () => Date): SharedState;
}

/**
 * Counted events in a sliding window, shared by every kinbase instance on one document store: the
 * failed-login and MFA limits hold across instances. An event belongs to an app and a key (any
 * string: adapters store a hash of it) and happened at a time (epoch ms); it is kept until its
 * `expiresAt` and removed by a later cleanup query (no TTL index: FerretDB 1.x has none). Every
 * event is its own record, so adding one is an insert, atomic on every store: whoever counts
 * after adding sees every event added before. Marks are single values per key (last writer wins).
 * Throws StoreError('unavailable') like the store.
 */
export interface SharedCounters {
  /** Records one event of the key at `at`. */
  add(appKey: string, key: string, at: number, expiresAt: number): Promise<void>;
  /** Times of the newest events of the key later than `since`, newest first, at most `limit` of them. */
  newest(appKey: string, key: string, since: number, limit: number): Promise<number[]>;
  /** Removes one of the key's events later than `since` (the newest), taking back one count; none: nothing. */
  removeOne(appKey: string, key: string, since: number): Promise<void>;
  /** Removes every event and the mark of the key. */
  clear(appKey: string, key: string): Promise<void>;
  /** Sets the key's mark (a number, e.g. a time) until `expiresAt`. */
  mark(appKey: string, key: string, value: number, expiresAt: number): Promise<void>;
  /** The key's live mark, or undefined. */
  markOf(appKey: string, key: string): Promise<number | undefined>;
}

/**
 * A short log per app and name, newest first, shared by every instance on one document store
 * (Business Logic's recent failures). Each log keeps at most `keep` entries.
 */
export interface SharedLogs {
  /** Appends a JSON-serialisable entry and drops the oldest past `keep`. */
  append(appKey: string, log: string, entry: Record<string, unknown>, keep: number): Promise<void>;
  /** The newest `limit` entries, newest first. */
  recent(appKey: string, log: string, limit: number): Promise<Record<string, unknown>[]>;
}

/** What instances on one document store share besides documents. */
export interface SharedState {
  readonly counters: SharedCounters;
  readonly logs: SharedLogs;
}

/** What an object store knows about one stored object. */
export interface ObjectStat {
  size: number;
  contentType: string;
  /** Hex MD5 of the content, used as ETag. */
  md5: string;
  public: boolean;
  updatedAt: Date;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** Where and how a client uploads the bytes of one object. */
export interface UploadTarget {
  /** Absolute URL the client PUTs (or POSTs) to, speaking GCS's resumable protocol. */
  url: string;
  /**
   * Every header whose value the upload URL checks, with the value it wants: a client that sends
   * exactly these (plus Content-Range and Content-Length) is never refused for its headers, and a
   * client that sends another value for one of them is. The Files API answers it as `_requiredHeaders`.
   */
  requiredHeaders: Record<string, string>;
}

export interface UploadSessionOptions {
  contentType: string;
  /** Declared size in bytes, enforced when known. */
  size?: number;
  /** The URL must be first used before this instant. */
  expiresAt: Date;
  /**
   * Absolute deadline: no request is accepted after this instant, used or not (backends that
   * cannot enforce it, like GCS, rely on the generation key: a late upload is never served).
   */
  closesAt: Date;
  /** Client-facing filename, for Content-Disposition on download. */
  filename: string;
  /**
   * The browser origin that will send the bytes (`scheme://host[:port]`): GCS answers a resumable
   * session's CORS for the origin that opened it, whatever the bucket's CORS says.
   */
  origin?: string;
}

export interface SignOptions {
  expiresAt: Date;
  https: boolean;
}

/**
 * Bytes of files. Object keys are produced by the domain (`objectKeyFor`) and are always safe
 * path segments joined by '/'; adapters never see client-provided ids. Objects written by an
 * upload session are private: the domain makes them public (setPublic) when its record takes them.
 * Adapters report running out of a resource or an unreachable backend as StoreError('unavailable').
 */
export interface ObjectStore {
  readonly kind: 'local' | 'gcs' | 's3';
  /** Opens a resumable upload session for `key` and returns where the client sends the bytes. */
  createUploadSession(key: string, options: UploadSessionOptions): Promise<UploadTarget>;
  /** Stores a whole object atomically from a stream (readers never see a partial object). */
  write(
    key: string,
    body: Readable,
    options: { contentType: string; public?: boolean; filename?: string },
  ): Promise<ObjectStat>;
  /** Streams the object, or the inclusive byte range. Returns null if there is no such object. */
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  /** Returns null if there is no such object. */
  stat(key: string): Promise<ObjectStat | null>;
  /** Removes the object and any upload session of it; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes every object whose key starts with `prefix + '/'`, and their upload sessions, with
   * work proportional to what is removed (never a scan of the whole store's sessions).
   */
  deletePrefix(prefix: string): Promise<void>;
  setPublic(key: string, isPublic: boolean): Promise<void>;
  /** A URL that downloads the object without credentials until `expiresAt`, and only that object. */
  signDownloadUrl(key: string, options: SignOptions): Promise<string>;
  /** The permanent, unsigned URL of a public object. */
  publicUrl(key: string, options: { https: boolean }): string;
  /**
   * Optional: bytes received so far by an open upload session given its URL, or null when the
   * backend cannot tell cheaply (GCS: a status query could commit the object on emulators).
   */
  uploadProgress?(uploadUrl: string): Promise<number | null>;
  /**
   * Closes an upload session given its URL, so it accepts no more bytes (best effort where the
   * backend cannot: the generation key keeps a late upload harmless). Unknown URLs are ignored.
   */
  cancelUpload?(uploadUrl: string): Promise<void>;
  /** Optional: removes upload sessions whose absolute deadline passed before `now`; returns how many. */
  sweepUploadSessions?(now: Date): Promise<number>;
  close(): Promise<void>;
}

/** One account mail: the plain-text part always, an HTML part when the template has one. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

/** Sends mail (the SMTP adapter in stores/mail). `send` rejects when the server refused or was unreachable. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close(): void;
}
