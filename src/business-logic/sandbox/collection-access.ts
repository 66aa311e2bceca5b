/**
 * The host side of `modules.collectionAccess`: Mongo-driver-1.x-style operations on the app's own
 * collections, with master rights (no ACL), through the DocumentStore port. The scope's app key
 * is fixed at construction, never taken from hook code, so a hook can only ever reach its own
 * app's data; filters go through the same sanitiser as client queries (no `$where`, no code).
 */
import type { CollectionScope, DocumentStore, Filter, FindOptions, StoredDocument } from '../../domain/ports';
import { isPlainObject } from '../../domain/access/acl';
import {
  checkAppdataCollection,
  checkClientId,
  checkEntityBody,
  newEntityId,
} from '../../domain/appdata/entity-fields';
import { FILES_COLLECTION } from '../../domain/files/file-metadata';
import { parseFields, parseSort, sanitizeFilter } from '../../domain/query/parse-query';
import { USER_COLLECTION } from '../../domain/users/user-records';
import { applyUpdate, isOperatorUpdate, upsertBase } from './update-operators';

/** Most documents one find, update or insert touches; Kinvey's own result-set limit. */
export const MAX_DOCUMENTS = 10_000;

interface ParsedOptions extends FindOptions {
  multi?: boolean;
  upsert?: boolean;
}

export class CollectionAccess {
  constructor(
    private readonly documents: DocumentStore,
    private readonly appKey: string,
  ) {}

  /**
   * Runs `method` of `collectionAccess.collection(collection)` with the hook's arguments (already
   * parsed JSON). Resolves with what the Mongo 1.x callback received as its result; throws a
   * KinveyError or Error whose message the hook sees as `err.message`.
   */
  async execute(collection: string, method: string, args: unknown[]): Promise<unknown> {
    const scope = this.scopeOf(collection);
    switch (method) {
      case 'find':
        return this.find(scope, args[0], parseOptions(args[1]));
      case 'findOne': {
        const found = await this.documents.find(scope, sanitizeFilter(args[0]), { ...parseOptions(args[1]), limit: 1 });
        return found[0] ?? null;
      }
      case 'count':
        return this.documents.count(scope, sanitizeFilter(args[0]));
      case 'insert':
        return this.insert(scope, args[0]);
      case 'save':
        return this.save(scope, args[0]);
      case 'update':
        return this.update(scope, sanitizeFilter(args[0]), args[1], parseOptions(args[2]));
      case 'remove':
        return this.documents.deleteMany(scope, sanitizeFilter(args[0]));
      default:
        throw new Error(`collectionAccess has no method ${method.slice(0, 40)}.`);
    }
  }

  /** Appdata collections, plus `user` and `_blob`; never `_credential` or other internal ones. */
  private scopeOf(collection: string): CollectionScope {
    if (collection !== USER_COLLECTION && collection !== FILES_COLLECTION) checkAppdataCollection(collection);
    return { appKey: this.appKey, collection };
  }

  private async find(scope: CollectionScope, query: unknown, options: FindOptions): Promise<StoredDocument[]> {
    const limit = Math.min(options.limit ?? MAX_DOCUMENTS + 1, MAX_DOCUMENTS + 1);
    const found = await this.documents.find(scope, sanitizeFilter(query), { ...options, limit });
    if (found.length > MAX_DOCUMENTS)
      throw new Error(`The query matched more than ${MAX_DOCUMENTS} documents; use limit and skip.`);
    return found;
  }

  private async insert(scope: CollectionScope, input: unknown): Promise<StoredDocument[]> {
    const many = Array.isArray(input) ? input : [input];
    if (many.length > MAX_DOCUMENTS) throw new Error(`At most ${MAX_DOCUMENTS} documents may be inserted at once.`);
    const docs = many.map((doc) => toDocument(doc, true));
    for (const doc of docs) await this.documents.insert(scope, doc);
    return docs;
  }

  private async save(scope: CollectionScope, input: unknown): Promise<StoredDocument> {
    const doc = toDocument(input, true);
    if (isPlainObject(input) && input._id !== undefined) await this.documents.upsert(scope, doc);
    else await this.documents.insert(scope, doc);
    return doc;
  }

  /** Resolves with the number of documents updated (or upserted), as Mongo 1.x's callback got it. */
  private async update(
    scope: CollectionScope,
    filter: Filter,
    update: unknown,
    options: ParsedOptions,
  ): Promise<number> {
    if (!isPlainObject(update)) throw new Error('update needs an update document.');
    const operators = isOperatorUpdate(update);
    const matched = await this.documents.find(scope, filter, { limit: options.multi ? MAX_DOCUMENTS + 1 : 1 });
    if (matched.length > MAX_DOCUMENTS) throw new Error(`The update matched more than ${MAX_DOCUMENTS} documents.`);
    if (matched.length === 0) {
      if (!options.upsert) return 0;
      const base = upsertBase(filter);
      const created = operators ? applyUpdate(base, update) : { ...update };
      await this.documents.insert(scope, toDocument({ ...created, _id: created._id ?? base._id }, true));
      return 1;
    }
    let updated = 0;
    for (const doc of matched) {
      const next = operators ? applyUpdate(structuredClone(doc), update) : { ...update, _id: doc._id };
      if (next._id !== doc._id) throw new Error('update may not change _id.');
      // Replaced only if the document still matches: a concurrent change is not overwritten.
      if (await this.documents.replace(scope, toDocument(next, false), filter)) updated += 1;
    }
    return updated;
  }
}

/** A storable document: field names checked like client bodies, `_id` a string (generated if absent). */
function toDocument(input: unknown, generateId: boolean): StoredDocument {
  const body = checkEntityBody(input);
  const { _id: id, ...fields } = body;
  if (id === undefined && !generateId) throw new Error('The document has no _id.');
  const _id = id === undefined ? newEntityId() : checkClientId(typeof id === 'number' ? String(id) : id);
  return { _id, ...fields };
}

/** find/update options: sort ({field: 1|-1} or [[field, dir]]), fields ({name: 1} or [names]), limit, skip, multi, upsert. */
function parseOptions(raw: unknown): ParsedOptions {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw new Error('The options must be an object.');
  const options: ParsedOptions = {};
  if (raw.sort !== undefined) options.sort = parseSort(JSON.stringify(sortObject(raw.sort)));
  if (raw.fields !== undefined) options.fields = parseFields(fieldList(raw.fields).join(','));
  if (raw.limit !== undefined) options.limit = count(raw.limit, 'limit');
  if (raw.skip !== undefined) options.skip = count(raw.skip, 'skip');
  if (raw.multi !== undefined) options.multi = raw.multi === true;
  if (raw.upsert !== undefined) options.upsert = raw.upsert === true;
  return options;
}

function sortObject(sort: unknown): Record<string, unknown> {
  if (!Array.isArray(sort)) return isPlainObject(sort) ? sort : {};
  const result: Record<string, unknown> = {};
  for (const pair of sort) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string')
      throw new Error('sort must be {field: 1|-1} or [[field, 1|-1], ...].');
    const direction: unknown = pair[1];
    Object.defineProperty(result, pair[0], {
      value:
        direction === 'asc' || direction === 'ascending'
          ? 1
          : direction === 'desc' || direction === 'descending'
            ? -1
            : direction,
      enumerable: true,
    });
  }
  return result;
}

function fieldList(fields: unknown): string[] {
  if (Array.isArray(fields) && fields.every((f) => typeof f === 'string')) return fields;
  if (isPlainObject(fields)) {
    if (Object.values(fields).some((v) => !v))
      throw new Error('fields only selects fields ({name: 1}); excluding fields is not supported.');
    return Object.keys(fields);
  }
  throw new Error('fields must be {name: 1, ...} or a list of names.');
}

function count(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new Error(`${name} must be a non-negative integer.`);
  return value as number;
}
