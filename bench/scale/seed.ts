/**
 * Seeding for bench:scale: N entities of ~1 KB, stored as kinbase stores them (`_acl`, `_kmd`),
 * written through the embedded store's own API with the server stopped: `importDocuments`
 * (one transaction per batch) when the store has it, else insert() calls.
 */
import { randomBytes } from 'node:crypto';
import type { CollectionScope, DocumentStore, StoredDocument } from '../../src/domain/ports';
import { loadConfig } from '../../src/config/load-config';
import { createDocumentStore } from '../../src/stores';
import { ACL_INDEXES } from '../../src/domain/appdata/entities.service';

/** About ten entities share a category, whatever N. */
export const PER_CATEGORY = 10;
/** What the server indexes in every collection, plus the field the bench app declares. */
/** What kinbase indexes in every collection, plus the declared field: a seeded dir needs no index build at start. */
export const SEED_INDEXES = [...ACL_INDEXES, 'category'];

const BATCH = 1000;
const FILLER = randomBytes(600).toString('base64');
const START = Date.UTC(2024, 0, 1);

/**
 * Entity i of n: a random 24-hex `_id`, `category` shared by ~10 entities spread over the whole
 * collection, `price` (not indexed; ~n/100,000 entities per value), every other entity readable
 * by all users (`_acl.gr`), a unique `_kmd.lmt`. About 1,000 bytes as JSON.
 */
export function makeEntity(i: number, n: number, creator: string): StoredDocument {
  const lmt = new Date(START + i * 1000).toISOString();
  return {
    _id: randomBytes(12).toString('hex'),
    category: categoryOf(i, n),
    title: `entity number ${i}`,
    price: (i * 7919) % 100_000,
    tags: ['alpha', 'beta', `t${i % 97}`],
    body: FILLER.slice(0, 600 + (i % 100)),
    _acl: i % 2 === 0 ? { creator, gr: true } : { creator },
    _kmd: { lmt, ect: lmt },
  };
}

export const categoryOf = (i: number, n: number): string => `category-${i % Math.max(1, Math.floor(n / PER_CATEGORY))}`;

interface BulkImport {
  importDocuments(scope: CollectionScope, docs: readonly StoredDocument[]): Promise<unknown>;
}

export interface SeedResult {
  /** `importDocuments` or `insert`. */
  via: string;
  perSec: number;
  /** Up to `keep` ids spread over the collection, for GET by id. */
  ids: string[];
}

/** Writes n entities into `scope` of the embedded store under dataDir, then closes the store. */
export async function seed(
  dataDir: string,
  scope: CollectionScope,
  n: number,
  creator: string,
  keep: number,
  progress: (done: number) => void,
): Promise<SeedResult> {
  // The server's own defaults for the embedded store (what `npm start` on this data dir uses).
  const config = loadConfig({ KINBASE_DATA_DIR: dataDir });
  if (config.documents.kind !== 'embedded') throw new Error('the default document store is not the embedded one');
  const store: DocumentStore = await createDocumentStore(config.documents, config.dataDir);
  const bulk = (store as Partial<BulkImport>).importDocuments?.bind(store);
  const ids: string[] = [];
  const every = Math.max(1, Math.floor(n / keep));
  let writeMs = 0;
  try {
    for (const field of SEED_INDEXES) await store.ensureIndex(scope, { field });
    for (let i = 0; i < n; i += BATCH) {
      const batch: StoredDocument[] = [];
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        const doc = makeEntity(j, n, creator);
        if (j % every === 0 && ids.length < keep) ids.push(doc._id);
        batch.push(doc);
      }
      const started = performance.now();
      if (bulk) await bulk(scope, batch);
      else
        for (let k = 0; k < batch.length; k += 50)
          await Promise.all(batch.slice(k, k + 50).map((doc) => store.insert(scope, doc)));
      writeMs += performance.now() - started;
      if ((i / BATCH) % 50 === 49) progress(i + batch.length);
    }
  } finally {
    const started = performance.now();
    await store.close();
    writeMs += performance.now() - started;
  }
  return { via: bulk ? 'importDocuments' : 'insert', perSec: n / (writeMs / 1000), ids };
}
