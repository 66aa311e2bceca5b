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
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded.document-store';
import { MongoDocumentStore } from '../../src/stores/documents/mongo.document-store';
import { documentStoreContract } from './document-store.contract';

documentStoreContract('embedded (nedb)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-docs-'));
  const store = new EmbeddedDocumentStore({ dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

documentStoreContract('mongodb', async () => {
  const url = process.env.KINBASE_TEST_MONGODB_URL;
  // No silent skip: without a server this adapter is untested, and that must be visible.
  if (!url) throw new Error('KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup should have started FerretDB (or use MONGODB_URL)');
  const dbPrefix = `kbtest_${randomBytes(4).toString('hex')}_`;
  const store = await MongoDocumentStore.connect({ url, dbPrefix });
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
