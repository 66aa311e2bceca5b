/**
 * File metadata records of the Files API (`_blob`): what the client may set, what the server owns,
 * what clients see, and how one record is presented with its download link.
 *
 * Stored shape: the client's metadata (`_filename`, `mimeType`, `size`, `_public`, custom fields),
 * `_acl`, `_kmd`, `_uploadState` (shown to clients) and two server-only fields (never sent to
 * clients, never queryable, sortable or selectable): `_kinbaseGeneration`, the generation whose
 * bytes the file serves (see file-keys.ts; absent for records written before generations and
 * before the first bytes arrive), and, while an upload is open, `_kinbaseUpload` (its URL, a
 * capability, and the generation it writes).
 */
import { randomUUID } from 'node:crypto';
import type { AppDefinition, CollectionPermissions } from '../apps/app-definition';
import { StoreError, type ObjectStore, type SortSpec, type StoredDocument } from '../ports';
import { isPlainObject } from '../access/acl';
import { issueDownloadLink, type LinkOptions } from './download-urls';
import { checkEntityBody } from '../appdata/entity-fields';
import { errors } from '../errors';
import { legacyObjectKeyFor, objectKeyFor } from './file-keys';
import type { ListQuery } from '../query/parse-query';

/** The system collection holding file metadata. */
export const FILES_COLLECTION = '_blob';
/** Server-only field of a record whose upload is open. */
export const UPLOAD_FIELD = '_kinbaseUpload';
/** Server-only field: the generation whose bytes the record serves. */
export const GENERATION_FIELD = '_kinbaseGeneration';
/** Server-only field: the image facts of the served generation (see images/image-record.ts). */
export const IMAGE_INFO_FIELD = '_kinbaseImage';
/** Every server-only field: dropped from client bodies and responses, refused in queries. */
export const SERVER_ONLY_FIELDS: readonly string[] = [UPLOAD_FIELD, GENERATION_FIELD, IMAGE_INFO_FIELD];
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_FILENAME_LENGTH = 1024;
// type/subtype plus parameters; no control characters, so it is safe to send back as a header.
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;[\x20-\x7e]*)?$/;

/** Fields a response may carry but the server owns: dropped from every client body. */
const SERVER_OWNED = [
  '_id',
  '_kmd',
  '_acl',
  '_uploadURL',
  '_downloadURL',
  '_expiresAt',
  '_requiredHeaders',
  '_uploadState',
  '_placeholder',
  '_variants',
  ...SERVER_ONLY_FIELDS,
  '_data',
];

/**
 * Whether a file's bytes have arrived, as shown to clients in `_uploadState`.
 * `pending`: an upload URL was issued and the new bytes have not been confirmed (after a PUT, the
 * previous bytes stay downloadable meanwhile, described by `previous`). `complete`: `bytesReceived` and `md5` describe the
 * stored object. `rejected`: bytes arrived that contradict the declared size and were discarded.
 */
export interface UploadState {
  status: 'pending' | 'complete' | 'rejected';
  bytesReceived: number;
  /** Hex MD5 of the stored bytes once complete, else null. */
  md5: string | null;
  /**
   * While a re-upload is pending: the bytes still served meanwhile (a PUT that changed only
   * metadata, `_public` say, leaves the file whole). Absent when the file has no bytes yet.
   */
  previous?: { size: number; md5: string };
}

/** Server-only bookkeeping of an open upload. */
export interface OpenUpload {
  /** ISO time the upload URL was issued; the sweeper measures the pending TTL from here. */
  openedAt: string;
  /** The upload URL (a capability: never shown to readers). */
  url: string;
  /**
   * The generation this upload writes: its bytes have arrived once that object exists. Absent in
   * uploads opened before generations; those are never recognised and the sweeper ends them.
   */
  generation?: string;
  /** The bytes the record served when the upload opened (kept until the new ones arrive), or null. */
  baseline: { md5: string; size: number } | null;
}

/** The client-settable part of a file record, validated. */
export interface FileFields {
  fields: Record<string, unknown>;
  aclInput: unknown;
  contentType: string;
  size: number | undefined;
  isPublic: boolean;
  filename: string;
}

/** The permission level of `_blob` in this app: configured, else `private` (unlike collections). */
export function filePermissions(app: AppDefinition): CollectionPermissions {
  return app.collections[FILES_COLLECTION]?.permissions ?? 'private';
}

/**
 * Validates a POST/PUT metadata body. `X-Kinvey-Content-Type` wins over `mimeType` for the
 * upload's Content-Type; `mimeType` defaults to it. Throws 400 BadRequest naming the bad field.
 */
export function parseFileFields(body: unknown, contentTypeHeader: string | undefined): FileFields {
  const checked = checkEntityBody(body ?? {});
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(checked)) if (!SERVER_OWNED.includes(key)) fields[key] = value;

  const filename = fields._filename ?? randomUUID();
  if (typeof filename !== 'string' || filename.length === 0 || filename.length > MAX_FILENAME_LENGTH) {
    throw errors.badRequest(`_filename must be a non-empty string of at most ${MAX_FILENAME_LENGTH} characters.`);
  }
  const isPublic = fields._public ?? false;
  if (typeof isPublic !== 'boolean') throw errors.badRequest('_public must be true or false.');
  const size = fields.size;
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 0))
    throw errors.badRequest('size must be a non-negative integer number of bytes.');
  if (fields.mimeType !== undefined && typeof fields.mimeType !== 'string')
    throw errors.badRequest('mimeType must be a string.');
  const contentType = contentTypeHeader?.trim() || fields.mimeType || DEFAULT_CONTENT_TYPE;
  if (!CONTENT_TYPE.test(contentType) || contentType.length > 200)
    throw errors.badRequest(`"${contentType.slice(0, 100)}" is not a valid content type.`);

  return {
    fields: { ...fields, _filename: filename, _public: isPublic, mimeType: fields.mimeType ?? contentType },
    aclInput: checked._acl,
    contentType,
    size: size as number | undefined,
    isPublic,
    filename,
  };
}

/** The record as clients see it: everything but the server-only fields. */
export function clientMetadata(doc: StoredDocument): StoredDocument {
  const { [UPLOAD_FIELD]: _upload, [GENERATION_FIELD]: _generation, [IMAGE_INFO_FIELD]: _image, ...visible } = doc;
  return visible;
}

export function generationOf(doc: Readonly<Record<string, unknown>>): string | undefined {
  const generation = doc[GENERATION_FIELD];
  return typeof generation === 'string' ? generation : undefined;
}

/**
 * The key download links of this record point at: its current generation; for a file whose first
 * bytes are still on their way, the generation its open upload writes (the link works once they
 * arrive, and only for them); for a record from before generations, the legacy key.
 */
export function servedKeyOf(appKey: string, doc: StoredDocument): string {
  const generation = generationOf(doc);
  if (generation) return objectKeyFor(appKey, doc._id, generation);
  const open = openUploadOf(doc);
  if (open?.generation && !open.baseline) return objectKeyFor(appKey, doc._id, open.generation);
  return legacyObjectKeyFor(appKey, doc._id);
}

/**
 * Object-store failures that are momentary (out of file handles, storage unreachable) become 503
 * for this request only; anything else passes unchanged.
 */
export function mapStorageErrors<T>(work: Promise<T>): Promise<T> {
  return work.catch((err: unknown) => {
    if (err instanceof StoreError && err.kind === 'unavailable')
      throw errors.storageUnavailable(err.message.slice(0, 200));
    throw err;
  });
}

export function uploadStateOf(doc: Readonly<Record<string, unknown>>): UploadState | undefined {
  return isPlainObject(doc._uploadState) ? (doc._uploadState as unknown as UploadState) : undefined;
}

export function openUploadOf(doc: Readonly<Record<string, unknown>>): OpenUpload | undefined {
  return isPlainObject(doc[UPLOAD_FIELD]) ? (doc[UPLOAD_FIELD] as unknown as OpenUpload) : undefined;
}

/**
 * Presents one metadata record with its download link: `_downloadURL`, plus `_expiresAt` unless
 * the file is public (public URLs are permanent). The link is issued through issueDownloadLink,
 * whatever the caller (/blob reads and KinveyFile references alike). Performs no access check:
 * callers check read access first (see FilesService.canRead).
 */
export async function presentFileWithLink(
  objects: ObjectStore,
  appKey: string,
  doc: StoredDocument,
  options: LinkOptions,
): Promise<StoredDocument> {
  const link = await mapStorageErrors(
    issueDownloadLink(objects, servedKeyOf(appKey, doc), doc._public === true, options),
  );
  return {
    ...clientMetadata(doc),
    _downloadURL: link.url,
    ...(link.expiresAt ? { _expiresAt: link.expiresAt.toISOString() } : {}),
  };
}

/**
 * Refuses queries, sorts and projections that touch a server-only field: a reader who may see a
 * file must not be able to probe its upload URL or its generation (a part of its object key) by
 * regex. Throws 400 InvalidQuerySyntax.
 */
export function checkFileListQuery(query: ListQuery): ListQuery {
  const internal = (field: string) => SERVER_ONLY_FIELDS.find((name) => field.split('.')[0] === name);
  const walk = (filter: Record<string, unknown>): void => {
    for (const [key, value] of Object.entries(filter)) {
      if (key === '$and' || key === '$or' || key === '$nor') (value as Record<string, unknown>[]).forEach(walk);
      else if (internal(key)) throw errors.invalidQuerySyntax(`${internal(key)} is internal and cannot be queried.`);
    }
  };
  walk(query.filter);
  const sorted: SortSpec = query.sort ?? [];
  const touched = sorted
    .map(([field]) => field)
    .concat(query.fields ?? [])
    .find(internal);
  if (touched !== undefined)
    throw errors.invalidQuerySyntax(`${internal(touched)} is internal and cannot be sorted on or selected.`);
  return query;
}
