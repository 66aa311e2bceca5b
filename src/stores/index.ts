import path from 'node:path';
import type { DocumentsConfig, StorageConfig } from '../config/load-config';
import type { DocumentStore, ObjectStore } from '../domain/ports';
import { EmbeddedDocumentStore } from './documents/embedded/embedded.document-store';
import { migrateNedbData, type MigrationLog } from './documents/embedded/legacy-nedb/nedb-migration';
import { LocalDiskObjectStore } from './objects/local-disk/local-disk.object-store';
import type { Clock } from '../internal/clock';

// The MongoDB and GCS adapters are loaded only when configured: their client libraries hold about
// 13 MB of heap, which a server on the embedded defaults would otherwise carry (and mark on every
// major GC) for nothing.

const toStderr: MigrationLog = (line) => void process.stderr.write(`kinbase: ${line}\n`);

/**
 * Builds the configured document store (an exhaustive switch over a closed set of adapters). The
 * embedded store first takes in whatever the earlier nedb-based store left in the data dir,
 * reporting its progress to `log`; it throws if that fails, leaving the old files for a retry.
 */
export async function createDocumentStore(
  config: DocumentsConfig,
  dataDir: string,
  log: MigrationLog = toStderr,
): Promise<DocumentStore> {
  switch (config.kind) {
    case 'embedded': {
      const dir = path.join(dataDir, 'documents');
      const store = new EmbeddedDocumentStore({ dir, sync: config.sync });
      try {
        await migrateNedbData(dir, store, log);
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    case 'mongodb': {
      const { MongoDocumentStore } = await import('./documents/mongodb/mongo.document-store');
      return MongoDocumentStore.connect({
        url: config.url,
        dbPrefix: config.dbPrefix,
        ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
      });
    }
    default:
      return assertNever(config);
  }
}

/** An object store as opened from the config. */
export interface OpenedObjectStore {
  readonly store: ObjectStore;
  /**
   * Set when the backend's signed upload and download URLs point at kinbase itself (local disk):
   * the same store, for the storage routes that serve those URLs (http/routes/storage).
   */
  readonly selfServed?: LocalDiskObjectStore;
}

/**
 * Builds the configured object store (an exhaustive switch over a closed set of adapters), with
 * what its URLs need served; `clock` (the wall clock by default) decides when its signed URLs expire.
 */
export async function createObjectStore(
  config: StorageConfig,
  options: { dataDir: string; publicUrl: string; signingSecret: string; clock?: Clock },
): Promise<OpenedObjectStore> {
  const clock = options.clock ? { clock: options.clock } : {};
  switch (config.kind) {
    case 'local': {
      const store = new LocalDiskObjectStore({
        dir: path.join(options.dataDir, 'objects'),
        publicUrl: options.publicUrl,
        signingSecret: options.signingSecret,
        ...clock,
      });
      return { store, selfServed: store };
    }
    case 'gcs': {
      const { GcsObjectStore } = await import('./objects/gcs/gcs.object-store');
      const store = await GcsObjectStore.create({
        bucket: config.bucket,
        ...(config.keyFile ? { keyFile: config.keyFile } : {}),
        ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
        ...(config.hmac ? { hmac: config.hmac } : {}),
        ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
        ...clock,
      });
      return { store };
    }
    default:
      return assertNever(config);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown adapter ${JSON.stringify(value)}`);
}
