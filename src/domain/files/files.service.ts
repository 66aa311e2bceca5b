/**
 * The Files API (`/blob`): metadata records in the `_blob` collection, bytes in the ObjectStore.
 * Two steps: a metadata write returns an upload URL the client sends the bytes to (never through
 * the API), reads return download links. Access follows the entity rules with `_blob` private by
 * default. Upload completion is detected lazily on read (the object changed since the upload
 * opened), so it works the same for every backend; the sweeper removes uploads that never finish.
 *
 * Every upload writes a new generation of the file (file-keys.ts) and the record switches to it
 * only when its own open upload's bytes arrive. So a session the record no longer points at (a
 * newer PUT opened another, the file was deleted, the sweeper gave up on it) writes bytes nobody
 * is served, whatever it was opened with: completing a session needs no re-check of ACLs or flags.
 */
import { randomUUID } from 'node:crypto';
import type { AppDefinition } from '../apps/app-definition';
import { StoreError, type CollectionScope, type DocumentStore, type ObjectStore, type StoredDocument } from '../ports';
import { buildAcl } from '../access/acl';
import { ACL_INDEX_FIELDS, aclScope, type AclScope } from '../access/acl-scope';
import type { LinkOptions } from './download-urls';
import { MAX_RESULT_SET } from '../appdata/entities.service';
import { buildKmd, checkClientId } from '../appdata/entity-fields';
import { errors } from '../errors';
import { mapWithLimit, STORAGE_CONCURRENCY } from '../../internal/bounded-concurrency';
import { fileKeyPrefix, legacyObjectKeyFor, newGeneration, objectKeyFor } from './file-keys';
import {
  FILES_COLLECTION,
  GENERATION_FIELD,
  IMAGE_INFO_FIELD,
  UPLOAD_FIELD,
  checkFileListQuery,
  clientMetadata,
  filePermissions,
  generationOf,
  mapStorageErrors,
  openUploadOf,
  parseFileFields,
  presentFileWithLink,
  servedKeyOf,
  uploadStateOf,
  type FileFields,
  type OpenUpload,
  type UploadState,
} from './file-metadata';
import type { Principal } from '../access/principal';
import type { ListQuery } from '../query/parse-query';
import type { FileContext, FilesServiceOptions, SweepResult, UploadTicket } from './files.types';

export type { FileContext, FilesServiceOptions, SweepResult, UploadTicket, Warn } from './files.types';

/**
 * How long a read resolving references waits for the object store to say whether a pending
 * upload's bytes arrived (GCS retries a failing request for much longer). Past it, or on an error,
 * the reference shows the stored record: resolution never fails or stalls the read.
 */
export const REFERENCE_REFRESH_BUDGET_MS = 1000;

/**
 * How long the read that sees an image upload complete waits for its analysis (placeholder and
 * size) before answering without it; the analysis goes on and later reads show it.
 */
export const IMAGE_ANALYSIS_WAIT_MS = 2000;

/** Every ACL field (so a reader's query is planned from its ACL clause), and the upload sweep's. */
const INDEXES = [...ACL_INDEX_FIELDS, '_uploadState.status'];

export class FilesService {
  private readonly clock: () => Date;
  private readonly indexed = new Set<string>();
  /** Upload-state checks in flight for reference reads, by file and upload: concurrent reads share one. */
  private readonly refreshing = new Map<string, { check: Promise<StoredDocument>; warnedLate: boolean }>();

  constructor(
    private readonly store: DocumentStore,
    private readonly objects: ObjectStore,
    private readonly options: FilesServiceOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** The access context of a principal in an app (`_blob` permissions: configured, else private). */
  static contextFor(app: AppDefinition, principal: Principal, origin?: string): FileContext {
    return { appKey: app.appKey, app, principal, permissions: filePermissions(app), ...(origin ? { origin } : {}) };
  }

  /**
   * POST: creates a record and opens an upload. A client `_id` (any string up to 1024 characters,
   * kept as is) that already exists is 409 EntityAlreadyExists: POST never overwrites, PUT does.
   * Throws 401 InsufficientCredentials if the principal may not create files, 400 for bad metadata.
   */
  async create(ctx: FileContext, body: unknown, contentTypeHeader?: string): Promise<UploadTicket> {
    if (!acl(ctx).canCreate()) throw errors.insufficientCredentials('You do not have access to create files.');
    const parsed = parseFileFields(body, contentTypeHeader);
    const clientId = (body as Record<string, unknown> | null)?._id;
    const id = clientId === undefined ? randomUUID() : checkClientId(clientId);
    if (clientId !== undefined && (await this.store.findByIds(this.scope(ctx.appKey), [id])).length > 0) {
      throw errors.entityAlreadyExists(`A file with _id ${id.slice(0, 100)} already exists; use PUT to replace it.`);
    }
    return this.openUpload(ctx, id, parsed, undefined);
  }

  /**
   * PUT: replaces the metadata of the file with this id (created when unknown) and opens a fresh
   * upload, closing the one opened before (its URL stops accepting bytes where the backend allows,
   * and its bytes are never served in any case). The previous bytes stay downloadable until the
   * new ones arrive. Changing `_public` takes effect on the stored object at once. Throws 401 if
   * the file is not writable, 503 when the object store is momentarily unavailable.
   */
  async replace(ctx: FileContext, id: string, body: unknown, contentTypeHeader?: string): Promise<UploadTicket> {
    checkClientId(id);
    const parsed = parseFileFields(body, contentTypeHeader);
    const [existing] = await this.store.findByIds(this.scope(ctx.appKey), [id]);
    if (!existing) {
      if (!acl(ctx).canCreate()) throw errors.insufficientCredentials('You do not have access to create files.');
      return this.openUpload(ctx, id, parsed, undefined);
    }
    if (!acl(ctx).canWrite(existing, 'update'))
      throw errors.insufficientCredentials('You do not have access to update this file.');
    // Bytes that arrived for the open upload become the previous bytes, kept until the new ones arrive.
    const current = await this.refreshUploadState(ctx.appKey, existing);
    // Making a file private must stop its permanent public URL right away, not after a re-upload.
    if ((current._public === true) !== parsed.isPublic) {
      await mapStorageErrors(this.objects.setPublic(servedKeyOf(ctx.appKey, current), parsed.isPublic));
      // Its variants are served by the same rules as the bytes they are made from.
      await mapStorageErrors(
        this.options.images?.setPublic(ctx.appKey, current, parsed.isPublic, ctx.app) ?? Promise.resolve(),
      );
    }
    const ticket = await this.openUpload(ctx, id, parsed, current);
    const superseded = openUploadOf(current);
    if (superseded) await this.cancel(ctx.appKey, id, superseded);
    return ticket;
  }

  /** One file's record (upload state refreshed). Throws 404 BlobNotFound or 401 InsufficientCredentials. */
  async get(ctx: FileContext, id: string): Promise<StoredDocument> {
    const [doc] = await this.store.findByIds(this.scope(ctx.appKey), [id]);
    if (!doc) throw errors.blobNotFound(`No file with _id ${id.slice(0, 100)}.`);
    if (!acl(ctx).canRead(doc)) throw errors.insufficientCredentials('You do not have access to read this file.');
    return this.refreshUploadState(ctx.appKey, doc);
  }

  /**
   * The readable files matching the query (ACL applied inside the store query). `fields` is
   * honoured by the caller's presentation; the records returned here keep what links need.
   * Throws 400 InvalidQuerySyntax for queries on internal fields, ResultSetSizeExceeded over 10,000.
   */
  async list(ctx: FileContext, query: ListQuery): Promise<StoredDocument[]> {
    checkFileListQuery(query);
    // Reads need the ACL indexes too (a data dir from before them); built in the background.
    this.ensureIndexes(ctx.appKey).catch(() => undefined);
    const filter = acl(ctx).readable(query.filter);
    const fields = query.fields
      ? [
          ...query.fields,
          '_public',
          '_uploadState',
          UPLOAD_FIELD,
          GENERATION_FIELD,
          IMAGE_INFO_FIELD,
          'size',
          'mimeType',
        ]
      : undefined;
    const limit = Math.min(query.limit ?? Infinity, MAX_RESULT_SET + 1);
    const docs = await this.store.find(this.scope(ctx.appKey), filter, {
      ...query,
      limit,
      ...(fields ? { fields } : {}),
    });
    if (docs.length > MAX_RESULT_SET)
      throw errors.resultSetSizeExceeded('Your query returned more than 10,000 files; page with limit and skip.');
    return mapWithLimit(docs, STORAGE_CONCURRENCY, (doc) => this.refreshUploadState(ctx.appKey, doc));
  }

  /**
   * Deletes the record, then every generation of its bytes and its upload sessions (old URLs stop
   * working, and never serve a file created later with the same id). Throws 404 BlobNotFound or 401.
   */
  async remove(ctx: FileContext, id: string): Promise<number> {
    const [existing] = await this.store.findByIds(this.scope(ctx.appKey), [id]);
    if (!existing) throw errors.blobNotFound(`No file with _id ${id.slice(0, 100)}.`);
    const access = acl(ctx);
    if (!access.canWrite(existing, 'delete'))
      throw errors.insufficientCredentials('You do not have access to delete this file.');
    const deleted = await this.store.deleteById(this.scope(ctx.appKey), id, access.writeCondition('delete'));
    if (!deleted) return 0;
    // Record first, bytes second: a failure in between leaves unreachable bytes, never a record
    // whose link serves someone else's later upload.
    const open = openUploadOf(existing);
    if (open) await this.cancel(ctx.appKey, id, open);
    await mapStorageErrors(
      Promise.all([
        this.objects.deletePrefix(fileKeyPrefix(ctx.appKey, id)),
        this.objects.delete(legacyObjectKeyFor(ctx.appKey, id)),
      ]),
    );
    return 1;
  }

  // ---- For KinveyFile references (resolved in bulk by the appdata read path) ----

  /**
   * The records of these file ids in ONE document-store query, upload state refreshed; missing ids
   * are simply absent. No access check: filter with `canRead` before presenting. Never fails on
   * the object store: pending uploads are checked at most STORAGE_CONCURRENCY at a time, within
   * one REFERENCE_REFRESH_BUDGET_MS for the whole call; a check that errors, outlasts it or has not
   * started by then is returned as stored (a started check goes on and records arrived bytes).
   */
  async findByIds(appKey: string, ids: readonly string[]): Promise<StoredDocument[]> {
    if (ids.length === 0) return [];
    const docs = await this.store.findByIds(this.scope(appKey), [...new Set(ids)]);
    if (!docs.some((doc) => uploadStateOf(doc)?.status === 'pending')) return docs;
    let timer: NodeJS.Timeout | undefined;
    const budget = {
      over: false,
      late: new Promise<'late'>((resolve) => {
        timer = setTimeout(() => {
          budget.over = true;
          resolve('late');
        }, REFERENCE_REFRESH_BUDGET_MS);
        timer.unref();
      }),
    };
    try {
      return await mapWithLimit(docs, STORAGE_CONCURRENCY, (doc) =>
        budget.over ? Promise.resolve(doc) : this.refreshForReference(appKey, doc, budget),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the principal may read this file record (`_blob` permissions of the app + `_acl`). */
  canRead(app: AppDefinition, principal: Principal, doc: StoredDocument): boolean {
    return aclScope(principal, filePermissions(app)).canRead(doc);
  }

  /**
   * One record as clients see it with `_downloadURL` (+ `_expiresAt` unless public), issued via
   * issueDownloadLink, and for decoded images `_placeholder` and the `_variants` that
   * `options.variants` names (or `options.variant`'s link as `_downloadURL`). No access check here.
   */
  async presentWithLink(app: AppDefinition, doc: StoredDocument, options: LinkOptions): Promise<StoredDocument> {
    const presented = await presentFileWithLink(this.objects, app.appKey, doc, options);
    const images = this.options.images;
    return images ? mapStorageErrors(images.decorate(app, doc, presented, options)) : presented;
  }

  /**
   * Follows a pending image variant link (see ImageVariants.followLink): the object store's URL of
   * the variant, rendered first if needed. Throws 401, 404 BlobNotFound or 503 as followLink does.
   */
  variantUrl(app: AppDefinition, fileId: string, name: string, query: Record<string, unknown>, https: boolean) {
    const images = this.options.images;
    if (!images) throw errors.blobNotFound('This server makes no image variants.');
    const find = async (id: string) => (await this.findByIds(app.appKey, [id]))[0];
    return mapStorageErrors(images.followLink(app, { fileId, name, query, https, now: this.clock() }, find));
  }

  // ---- Pending uploads ----

  /**
   * Cleans up uploads still pending (or rejected) `pendingUploadTtlSeconds` after they opened:
   * bytes that did arrive are recognised; a re-upload falls back to the previous bytes; a file
   * that never got bytes loses its record and any partial upload. Safe to run concurrently with
   * requests: every write is conditional on the same upload still being open.
   */
  async sweepPendingUploads(now: Date = this.clock()): Promise<SweepResult> {
    const result: SweepResult = { completed: 0, reverted: 0, removed: 0 };
    const cutoff = new Date(now.getTime() - this.options.pendingUploadTtlSeconds * 1000).toISOString();
    for (const appKey of this.options.appKeys()) {
      const scope = this.scope(appKey);
      const stale = await this.store.find(scope, {
        '_uploadState.status': { $in: ['pending', 'rejected'] },
        [`${UPLOAD_FIELD}.openedAt`]: { $lt: cutoff },
      });
      for (const found of stale) {
        const doc = await this.refreshUploadState(appKey, found);
        const state = uploadStateOf(doc);
        const open = openUploadOf(doc);
        if (state?.status === 'complete' || !open) {
          result.completed++;
          continue;
        }
        const sameUpload = { [`${UPLOAD_FIELD}.url`]: open.url };
        if (open.baseline) {
          // The previous generation was never touched: the record serves it again.
          const { [UPLOAD_FIELD]: _closed, ...rest } = doc;
          const reverted: UploadState = {
            status: 'complete',
            bytesReceived: open.baseline.size,
            md5: open.baseline.md5,
          };
          if (
            !(await this.store.replace(
              scope,
              { ...rest, size: open.baseline.size, _uploadState: reverted },
              sameUpload,
            ))
          )
            continue;
          result.reverted++;
        } else {
          if (!(await this.store.deleteById(scope, doc._id, sameUpload))) continue;
          result.removed++;
        }
        await this.cancel(appKey, doc._id, open);
      }
    }
    // Sessions past their absolute deadline (the same TTL), completed ones included.
    await this.objects.sweepUploadSessions?.(now);
    return result;
  }

  /**
   * Closes an upload the record no longer points at: its session (best effort, logged) and any
   * bytes it wrote. Never fails: a session left open writes a generation nobody is served.
   */
  private async cancel(appKey: string, fileId: string, open: OpenUpload): Promise<void> {
    try {
      await this.objects.cancelUpload?.(open.url);
      if (open.generation) await this.objects.delete(objectKeyFor(appKey, fileId, open.generation));
    } catch (err) {
      this.options.warn?.({ appKey, fileId, err }, 'closing a superseded upload failed; its bytes can never be served');
    }
  }

  private refreshForReference(
    appKey: string,
    doc: StoredDocument,
    budget: { late: Promise<'late'> },
  ): Promise<StoredDocument> {
    const open = openUploadOf(doc);
    if (uploadStateOf(doc)?.status !== 'pending' || !open) return Promise.resolve(doc);
    const key = `${appKey}\u0000${doc._id}\u0000${open.url}`;
    let shared = this.refreshing.get(key);
    if (!shared) {
      // References skip the progress of a partial upload (the file's own /blob read shows it): it
      // costs a session lookup per pending file, and one read may hold 1,000 of them.
      const check = this.refreshUploadState(appKey, doc, { progress: false }).finally(() =>
        this.refreshing.delete(key),
      );
      // One warning per failed check, however many reads were waiting on it.
      check.catch((err: unknown) =>
        this.options.warn?.(
          { appKey, fileId: doc._id, err },
          'checking a pending upload failed; references show the stored record',
        ),
      );
      shared = { check, warnedLate: false };
      this.refreshing.set(key, shared);
    }
    const entry = shared;
    return Promise.race([entry.check, budget.late]).then(
      (fresh) => {
        if (fresh !== 'late') return fresh;
        if (!entry.warnedLate) {
          entry.warnedLate = true;
          this.options.warn?.(
            { appKey, fileId: doc._id },
            `checking a pending upload takes over ${REFERENCE_REFRESH_BUDGET_MS} ms; references show the stored record`,
          );
        }
        return doc;
      },
      () => doc,
    );
  }

  /**
   * Recognises arrived bytes of a pending upload: the object of the generation it writes exists.
   * Bytes contradicting the declared size (GCS does not enforce it) are deleted and the upload
   * marked rejected. Arrived bytes get the record's visibility, then the record switches to their
   * generation and the previous one is deleted. Otherwise reports the bytes received so far where
   * the backend knows. Throws 503 when the object store is momentarily unavailable.
   */
  private async refreshUploadState(
    appKey: string,
    doc: StoredDocument,
    options: { progress: boolean } = { progress: true },
  ): Promise<StoredDocument> {
    const state = uploadStateOf(doc);
    const open = openUploadOf(doc);
    if (state?.status !== 'pending' || !open?.generation) return doc;
    const key = objectKeyFor(appKey, doc._id, open.generation);
    const checked = this.options.pendingUploadChecked ?? (() => {});
    const stat = await mapStorageErrors(this.objects.stat(key)).catch((err: unknown) => {
      checked('failed');
      throw err;
    });
    checked(!stat ? 'waiting' : typeof doc.size === 'number' && stat.size !== doc.size ? 'rejected' : 'arrived');
    if (!stat) {
      if (!options.progress) return doc;
      const received =
        (await mapStorageErrors(this.objects.uploadProgress?.(open.url) ?? Promise.resolve(null))) ?? null;
      return received ? { ...doc, _uploadState: { ...state, bytesReceived: received } } : doc;
    }
    const scope = this.scope(appKey);
    // Conditional on the same upload still being open: a newer PUT's session must not be closed
    // by a reader that saw the previous one complete.
    const sameUpload = { [`${UPLOAD_FIELD}.url`]: open.url };
    if (typeof doc.size === 'number' && stat.size !== doc.size) {
      await mapStorageErrors(this.objects.delete(key));
      const rejected: StoredDocument = {
        ...doc,
        _uploadState: { status: 'rejected', bytesReceived: stat.size, md5: stat.md5 } satisfies UploadState,
      };
      await this.store.replace(scope, rejected, sameUpload);
      return rejected;
    }
    // Upload sessions store private objects; public serving follows the record, decided here.
    const isPublic = doc._public === true;
    if (stat.public !== isPublic) await mapStorageErrors(this.objects.setPublic(key, isPublic));
    const { [UPLOAD_FIELD]: _closed, ...rest } = doc;
    const next: StoredDocument = {
      ...rest,
      _id: doc._id,
      [GENERATION_FIELD]: open.generation,
      size: stat.size,
      _uploadState: { status: 'complete', bytesReceived: stat.size, md5: stat.md5 } satisfies UploadState,
    };
    if (!(await this.store.replace(scope, next, sameUpload))) {
      // Another reader switched first, or a newer upload replaced this one: show what is stored.
      const [stored] = await this.store.findByIds(scope, [doc._id]);
      return stored ?? next;
    }
    // Nothing serves the previous generation any more (links name their generation).
    const previous = generationOf(doc);
    const previousKey = previous
      ? objectKeyFor(appKey, doc._id, previous)
      : open.baseline
        ? legacyObjectKeyFor(appKey, doc._id)
        : null;
    if (previousKey)
      await Promise.all([
        this.objects.delete(previousKey),
        previous ? this.options.images?.deleteVariants(appKey, doc._id, previous) : undefined,
      ]).catch((err: unknown) =>
        this.options.warn?.({ appKey, fileId: doc._id, err }, 'deleting the previous generation of a file failed'),
      );
    // The placeholder is computed now, while the uploader's read waits a little for it.
    return this.options.images ? this.options.images.analyse(appKey, next, IMAGE_ANALYSIS_WAIT_MS) : next;
  }

  private async openUpload(
    ctx: FileContext,
    id: string,
    parsed: FileFields,
    existing: StoredDocument | undefined,
  ): Promise<UploadTicket> {
    const now = this.clock();
    const generation = newGeneration();
    const expiresAt = new Date(now.getTime() + this.options.uploadUrlTtlSeconds * 1000);
    // A session never outlives the time the sweeper waits for it: after that it accepts nothing.
    const closesAt = new Date(now.getTime() + this.options.pendingUploadTtlSeconds * 1000);
    const target = await mapStorageErrors(
      this.objects.createUploadSession(objectKeyFor(ctx.appKey, id, generation), {
        contentType: parsed.contentType,
        ...(parsed.size !== undefined ? { size: parsed.size } : {}),
        expiresAt,
        closesAt,
        filename: parsed.filename,
        ...(ctx.origin ? { origin: ctx.origin } : {}),
      }),
    );
    const baseline = existing ? baselineOf(existing) : null;
    const open: OpenUpload = { openedAt: now.toISOString(), url: target.url, generation, baseline };
    const current = existing ? generationOf(existing) : undefined;
    const doc: StoredDocument = {
      _id: id,
      ...parsed.fields,
      _acl: buildAcl(parsed.aclInput, ctx.principal, existing),
      _kmd: buildKmd((this.options.stampWrite ?? this.clock)(), existing),
      _uploadState: {
        status: 'pending',
        bytesReceived: 0,
        md5: null,
        ...(baseline ? { previous: baseline } : {}),
      } satisfies UploadState,
      ...(current ? { [GENERATION_FIELD]: current } : {}),
      // The served generation keeps its placeholder and variants until new bytes replace it.
      ...(current && existing?.[IMAGE_INFO_FIELD] !== undefined
        ? { [IMAGE_INFO_FIELD]: existing[IMAGE_INFO_FIELD] }
        : {}),
      [UPLOAD_FIELD]: open,
    };
    await this.ensureIndexes(ctx.appKey);
    const scope = this.scope(ctx.appKey);
    try {
      if (existing) {
        // Conditional on write access still holding: closes the read-check-write race.
        if (!(await this.store.replace(scope, doc, acl(ctx).writeCondition('update')))) {
          throw errors.insufficientCredentials('You do not have access to update this file.');
        }
      } else {
        await this.store.insert(scope, doc);
      }
    } catch (err) {
      await this.cancel(ctx.appKey, id, open);
      if (err instanceof StoreError && err.kind === 'duplicate')
        throw errors.entityAlreadyExists(`A file with _id ${id.slice(0, 100)} was created concurrently; retry.`);
      throw err;
    }
    return {
      file: clientMetadata(doc),
      uploadUrl: target.url,
      expiresAt,
      requiredHeaders: target.requiredHeaders,
      created: !existing,
    };
  }

  private scope(appKey: string): CollectionScope {
    return { appKey, collection: FILES_COLLECTION };
  }

  private async ensureIndexes(appKey: string): Promise<void> {
    if (this.indexed.has(appKey)) return;
    await Promise.all(INDEXES.map((field) => this.store.ensureIndex(this.scope(appKey), { field })));
    this.indexed.add(appKey);
  }
}

/** The ACL scope of the request's principal in `_blob`: the one way the ACL applies to files. */
function acl(ctx: FileContext): AclScope {
  return aclScope(ctx.principal, ctx.permissions);
}

/** The bytes a record serves, kept while a new upload is pending: its own if complete, else those its open upload kept. */
function baselineOf(doc: StoredDocument): OpenUpload['baseline'] {
  const state = uploadStateOf(doc);
  if (state?.status === 'complete') return { md5: state.md5 ?? '', size: state.bytesReceived };
  return openUploadOf(doc)?.baseline ?? null;
}
