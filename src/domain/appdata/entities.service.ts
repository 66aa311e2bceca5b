/**
 * AppData entities: create, read, replace and delete documents of one collection, enforcing the
 * collection permission level and entity ACLs. Reads and deletes by query apply the ACL filter
 * inside the store query; single-entity writes are conditional on the ACL filter too, so a
 * concurrent ACL change can never let a write through.
 */
import type { CollectionPermissions } from '../apps/app-definition';
import { StoreError, type CollectionScope, type DocumentStore, type Filter, type StoredDocument } from '../ports';
import { buildAcl } from '../access/acl';
import { ACL_INDEX_FIELDS, aclScope, type AclScope } from '../access/acl-scope';
import type { DeletionLog } from './deletion-log';
import { MonotonicClock } from './monotonic-clock';
import { buildKmd, checkClientId, checkEntityBody, newEntityId } from './entity-fields';
import { errors, isKinveyError, type KinveyError } from '../errors';
import type { Principal } from '../access/principal';
import type { ListQuery } from '../query/parse-query';

/** Kinvey's cap on one read: more is 400 ResultSetSizeExceeded, never a silent truncation. */
export const MAX_RESULT_SET = 10_000;
/** Kinvey's cap on one multi-insert request. */
export const MAX_MULTI_INSERT = 100;

export interface EntityContext {
  readonly scope: CollectionScope;
  readonly principal: Principal;
  readonly permissions: CollectionPermissions;
  /** Fields the app declared to index in this collection (collections.<name>.indexes). */
  readonly indexes?: readonly string[];
}

export interface MultiInsertError {
  index: number;
  code: number;
  error: string;
  description: string;
  debug: string;
}

/** Transforms a client body before it is stored (KinveyFile references are stripped here). */
export type BodyTransform = (body: Record<string, unknown>) => Record<string, unknown>;

/** Always indexed: every ACL field (so a reader's query is planned from its ACL clause) and `_kmd.lmt`. */
export const ACL_INDEXES: readonly string[] = [...ACL_INDEX_FIELDS, '_kmd.lmt'];

export class EntitiesService {
  private readonly indexed = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    /** Stamps `_kmd.lmt`; the clock of request starts, so delta sets compare exactly. */
    private readonly clock: MonotonicClock = new MonotonicClock(),
    private readonly transformBody: BodyTransform = (body) => body,
    /** Where deletions go when tombstones may be needed (delta sets); straight to the store without. */
    private readonly deletions?: DeletionLog,
  ) {}

  /** Readable entities matching the query, in sort order then `_id`. Throws ResultSetSizeExceeded. */
  async list(ctx: EntityContext, query: ListQuery): Promise<StoredDocument[]> {
    this.ensureIndexes(ctx);
    const filter = acl(ctx).readable(query.filter);
    const limit = Math.min(query.limit ?? Infinity, MAX_RESULT_SET + 1);
    const docs = await this.store.find(ctx.scope, filter, { ...query, limit });
    if (docs.length > MAX_RESULT_SET) {
      const total = Math.max(0, (await this.store.count(ctx.scope, filter)) - (query.skip ?? 0));
      throw errors.resultSetSizeExceeded(`Your query returned ${total} results; page with limit and skip.`);
    }
    return docs;
  }

  /** Counts readable entities matching the filter. */
  async count(ctx: EntityContext, filter: Filter): Promise<number> {
    this.ensureIndexes(ctx);
    return this.store.count(ctx.scope, acl(ctx).readable(filter));
  }

  /** One entity. Throws 404 EntityNotFound, or 401 InsufficientCredentials if it is not readable. */
  async get(ctx: EntityContext, id: string): Promise<StoredDocument> {
    const [doc] = await this.store.findByIds(ctx.scope, [id]);
    if (!doc) throw errors.entityNotFound(`No entity with _id ${id.slice(0, 100)} in ${ctx.scope.collection}.`);
    if (!acl(ctx).canRead(doc)) throw errors.insufficientCredentials('You do not have access to read this entity.');
    return doc;
  }

  /**
   * Creates one entity. A client `_id` is kept as a string; an `_id` that already exists is
   * 409 EntityAlreadyExists (POST never overwrites: replacing is PUT's job, with its ACL check).
   */
  async create(ctx: EntityContext, body: unknown): Promise<StoredDocument> {
    this.checkCreate(ctx);
    return this.clock.write(async (now) => {
      const doc = this.newDocument(ctx, body, now);
      this.ensureIndexes(ctx);
      try {
        await this.store.insert(ctx.scope, doc);
      } catch (err) {
        if (err instanceof StoreError && err.kind === 'duplicate') {
          throw errors.entityAlreadyExists(
            `An entity with _id ${doc._id.slice(0, 100)} already exists; use PUT to replace it.`,
          );
        }
        throw err;
      }
      return doc;
    });
  }

  /** Creates up to 100 entities; each item succeeds or fails on its own. */
  async createMany(
    ctx: EntityContext,
    bodies: unknown[],
  ): Promise<{ entities: (StoredDocument | null)[]; errors: MultiInsertError[] }> {
    if (bodies.length === 0) throw errors.badRequest('The array of entities to insert is empty.');
    if (bodies.length > MAX_MULTI_INSERT)
      throw errors.parameterValueOutOfRange(
        `At most ${MAX_MULTI_INSERT} entities may be inserted in one request; got ${bodies.length}.`,
      );
    this.checkCreate(ctx);
    const entities: (StoredDocument | null)[] = [];
    const failures: MultiInsertError[] = [];
    for (const [index, body] of bodies.entries()) {
      try {
        entities.push(await this.create(ctx, body));
      } catch (err) {
        if (!isKinveyError(err)) throw err;
        entities.push(null);
        failures.push(toMultiInsertError(index, err));
      }
    }
    return { entities, errors: failures };
  }

  /**
   * Replaces the entity with this id (the path id wins over any body `_id`), keeping `_kmd.ect`
   * and `_acl.creator`; an unknown id is created. Throws 401 if the entity is not writable.
   */
  async replace(ctx: EntityContext, id: string, body: unknown): Promise<{ entity: StoredDocument; created: boolean }> {
    checkClientId(id);
    return this.clock.write((now) => this.replaceStamped(ctx, id, body, now));
  }

  private async replaceStamped(
    ctx: EntityContext,
    id: string,
    body: unknown,
    now: Date,
  ): Promise<{ entity: StoredDocument; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const [existing] = await this.store.findByIds(ctx.scope, [id]);
      if (!existing) {
        this.checkCreate(ctx);
        const doc = this.newDocument(ctx, body, now, id);
        this.ensureIndexes(ctx);
        try {
          await this.store.insert(ctx.scope, doc);
          return { entity: doc, created: true };
        } catch (err) {
          if (err instanceof StoreError && err.kind === 'duplicate') continue; // created concurrently: replace it
          throw err;
        }
      }
      if (!acl(ctx).canWrite(existing, 'update'))
        throw errors.insufficientCredentials('You do not have access to update this entity.');
      const doc = this.buildDocument(ctx, body, id, now, existing);
      // Conditional on the ACL still granting write: closes the read-check-write race.
      if (await this.store.replace(ctx.scope, doc, acl(ctx).writeCondition('update')))
        return { entity: doc, created: false };
    }
    throw errors.kinveyInternalErrorRetry('The entity changed concurrently; retry the request.');
  }

  /** Deletes one entity. Throws 404 EntityNotFound or 401 InsufficientCredentials. */
  async remove(ctx: EntityContext, id: string): Promise<number> {
    const [existing] = await this.store.findByIds(ctx.scope, [id]);
    if (!existing) throw errors.entityNotFound(`No entity with _id ${id.slice(0, 100)} in ${ctx.scope.collection}.`);
    const access = acl(ctx);
    if (!access.canWrite(existing, 'delete'))
      throw errors.insufficientCredentials('You do not have access to delete this entity.');
    const filter = access.writeCondition('delete');
    const deleted = this.deletions
      ? await this.deletions.deleteOne(ctx.scope, existing, filter)
      : await this.store.deleteById(ctx.scope, id, filter);
    return deleted ? 1 : 0;
  }

  /** Deletes the writable entities matching the filter; returns how many went. */
  async removeMatching(ctx: EntityContext, filter: Filter): Promise<number> {
    if (ctx.permissions === 'read-only' && ctx.principal.kind !== 'master') {
      throw errors.insufficientCredentials('This collection is read-only: only master credentials may delete.');
    }
    const access = acl(ctx);
    // A role table that lets this user delete nothing answers like read-only, not with a count of 0.
    if (typeof ctx.permissions !== 'string' && ctx.principal.kind === 'user' && access.deniesAll('delete')) {
      throw errors.insufficientCredentials(`You do not have access to delete entities in ${ctx.scope.collection}.`);
    }
    const writable = access.writable(filter, 'delete');
    return this.deletions
      ? this.deletions.deleteMatching(ctx.scope, writable)
      : this.store.deleteMany(ctx.scope, writable);
  }

  private checkCreate(ctx: EntityContext): void {
    if (!acl(ctx).canCreate()) {
      throw errors.insufficientCredentials(`You do not have access to create entities in ${ctx.scope.collection}.`);
    }
  }

  private newDocument(ctx: EntityContext, body: unknown, now: Date, pathId?: string): StoredDocument {
    const checked = checkEntityBody(body);
    const id = pathId ?? (checked._id === undefined ? newEntityId(now) : checkClientId(checked._id));
    return this.buildDocument(ctx, checked, id, now);
  }

  private buildDocument(
    ctx: EntityContext,
    body: unknown,
    id: string,
    now: Date,
    existing?: StoredDocument,
  ): StoredDocument {
    const { _id: _ignoredId, _kmd: _ignoredKmd, _acl: acl, ...fields } = this.transformBody(checkEntityBody(body));
    return { _id: id, ...fields, _acl: buildAcl(acl, ctx.principal, existing), _kmd: buildKmd(now, existing) };
  }

  /**
   * Creates the collection's indexes once per process, in the background: no request waits for an
   * index build (the embedded store plans only from finished indexes), and a failure retries later.
   */
  private ensureIndexes(ctx: EntityContext): void {
    const key = `${ctx.scope.appKey}\u0000${ctx.scope.collection}`;
    if (this.indexed.has(key)) return;
    this.indexed.add(key);
    const fields = [...new Set([...ACL_INDEXES, ...(ctx.indexes ?? [])])];
    Promise.all(fields.map((field) => this.store.ensureIndex(ctx.scope, { field }))).catch(() =>
      this.indexed.delete(key),
    );
  }
}

/** The ACL scope of the request's principal in the collection: the one way the ACL applies. */
function acl(ctx: EntityContext): AclScope {
  return aclScope(ctx.principal, ctx.permissions);
}

function toMultiInsertError(index: number, err: KinveyError): MultiInsertError {
  return { index, code: err.status, error: err.error, description: err.description, debug: err.debug };
}
