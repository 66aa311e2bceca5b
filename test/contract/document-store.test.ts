/**
 * Runs the DocumentStore contract against both adapters: the embedded store in a temp dir and the
 * MongoDB store against the test server (FerretDB, or MONGODB_URL) started by globalSetup.
 */
import { isFerretDb } from '../support/ferretdb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import {
  EmbeddedDocumentStore,
  type EmbeddedDocumentStoreOptions,
} from '../../src/stores/documents/embedded/embedded.document-store';
import type { CollectionScope, DocumentStore, StoredDocument } from '../../src/domain/ports';
import { MongoDocumentStore } from '../../src/stores/documents/mongodb/mongo.document-store';
import { documentStoreContract } from './document-store.contract';

async function embeddedStore(options: Partial<EmbeddedDocumentStoreOptions> = {}, indexed: readonly string[] = []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-docs-'));
  // A cluster worker's store opens a file its primary prepared.
  if (options.access === 'shared') await new EmbeddedDocumentStore({ dir, access: 'owner' }).close();
  const store = new EmbeddedDocumentStore({ dir, ...options });
  return {
    store: indexed.length ? indexingEveryField(store, indexed) : store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The same store, with an index on each listed field of every collection before its first write. */
function indexingEveryField(store: DocumentStore, fields: readonly string[]): DocumentStore {
  const indexed = new Set<string>();
  const before = async (scope: CollectionScope): Promise<void> => {
    const key = `${scope.appKey}/${scope.collection}`;
    if (indexed.has(key)) return;
    indexed.add(key);
    for (const field of fields) await store.ensureIndex(scope, { field });
  };
  return Object.assign(Object.create(store) as DocumentStore, {
    insert: async (scope: CollectionScope, doc: StoredDocument) => (await before(scope), store.insert(scope, doc)),
    upsert: async (scope: CollectionScope, doc: StoredDocument) => (await before(scope), store.upsert(scope, doc)),
  });
}

// Fields of the fixtures (not those the unique-index tests declare themselves).
const FIXTURE_FIELDS = [
  'n',
  's',
  'tags',
  'nested.x',
  'nested.y',
  'mixed',
  'when',
  'items.k',
  'items.v',
  'opt',
  'flag',
  'k',
  'v',
  'o.t',
  'keep',
  'top',
  'profile.name',
];

documentStoreContract('embedded (SQLite)', (options) => embeddedStore(options));
// Every query planned from an index: candidate sets, unions, ranges, sorts walked in index order.
documentStoreContract('embedded (SQLite), every field indexed', (options) => embeddedStore(options, FIXTURE_FIELDS));

documentStoreContract('embedded (SQLite), shared by worker processes, every field indexed', (options) =>
  embeddedStore({ ...options, access: 'shared' }, FIXTURE_FIELDS),
);
// Candidate sets over the limit: plans give way to index walks and streamed scans.
documentStoreContract('embedded (SQLite), indexed, tiny candidate limit', (options) =>
  embeddedStore({ maxCandidates: 1, ...options }, FIXTURE_FIELDS),
);

documentStoreContract('mongodb', async (options) => {
  const url = process.env.KINBASE_TEST_MONGODB_URL;
  // No silent skip: without a server this adapter is untested, and that must be visible.
  if (!url)
    throw new Error(
      'KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup should have started FerretDB (or use MONGODB_URL)',
    );
  const dbPrefix = `kbtest_${randomBytes(4).toString('hex')}_`;
  const store = await MongoDocumentStore.connect({ url, dbPrefix, ...options });
  return {
    store,
    gaps: (await isFerretDb(url)) ? ['elemMatch-field-conditions', 'unique-index-ignores-missing'] : [],
    cleanup: async () => {
      await store.close();
      const admin = new MongoClient(url);
      try {
        const { databases } = await admin.db('admin').admin().listDatabases({ nameOnly: true });
        for (const { name } of databases) if (name.startsWith(dbPrefix)) await admin.db(name).dropDatabase();
      } finally {
        await admin.close();
      }
    },
  };
});
