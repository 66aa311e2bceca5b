import path from 'node:path';
import type { DocumentsConfig, StorageConfig } from '../config/load-config';
import type { DocumentStore, ObjectStore } from '../domain/ports';
import { EmbeddedDocumentStore } from './documents/embedded/embedded.document-store';
import { lockDataDir } from './documents/embedded/data-dir-lock';
import { migrateNedbData, type MigrationLog } from './documents/embedded/legacy-nedb/nedb-migration';
import { LocalDiskObjectStore } from './objects/local-disk/local-disk.object-store';
import { clearSessionLocks } from './objects/local-disk/session-lock';
import type { Clock } from '../internal/clock';
import type { S3ObjectStore } from './objects/s3/s3.object-store';

// The MongoDB, GCS and S3 adapters are loaded only when configured: their client libraries hold about
// 13 MB of heap, which a server on the embedded defaults would otherwise carry (and mark on every
// major GC) for nothing.

const toStderr: MigrationLog = (line) => void process.stderr.write(`kinbase: ${line}\n`);

/**
 * Who opens the document store: the one process of a single-process kinbase (`single`, the
 * default), or one of the worker processes of a cluster (`worker`), whose primary prepared the
 * store first (`prepareSharedDocumentStore`).
 */
export type StoreRole = 'single' | 'worker';

/**
 * Builds the configured document store (an exhaustive switch over a closed set of adapters). The
 * embedded store of a single process first takes the data dir's lock and takes in whatever the
 * earlier nedb-based store left there, reporting its progress to `log`; it throws if that fails,
 * leaving the old files for a retry. A cluster worker's embedded store does neither: its primary
 * holds the lock and migrated once.
 */
export async function createDocumentStore(
  config: DocumentsConfig,
  dataDir: string,
  log: MigrationLog = toStderr,
  role: StoreRole = 'single',
): Promise<DocumentStore> {
  switch (config.kind) {
    case 'embedded': {
      const dir = path.join(dataDir, 'documents');
      if (role === 'worker') return new EmbeddedDocumentStore({ dir, sync: config.sync, access: 'shared' });
      const lock = lockDataDir(dir);
      let store: EmbeddedDocumentStore | undefined;
      try {
        store = new EmbeddedDocumentStore({ dir, sync: config.sync, onClose: () => lock.release() });
        await migrateNedbData(dir, store, log);
      } catch (err) {
        await store?.close();
        lock.release();
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

/**
 * The cluster primary's part of the document store, before it forks its workers: for the
 * embedded store, takes the data dir's lock (held until `release`), prepares the database
 * (schema, interrupted index builds) and runs the nedb migration, once for every worker. Nothing
 * to do for MongoDB.
 */
export async function prepareSharedDocumentStore(
  config: DocumentsConfig,
  dataDir: string,
  log: MigrationLog = toStderr,
): Promise<{ release(): void }> {
  clearSessionLocks(uploadLocksDir(dataDir));
  if (config.kind !== 'embedded') return { release: () => undefined };
  const dir = path.join(dataDir, 'documents');
  const lock = lockDataDir(dir);
  try {
    const store = new EmbeddedDocumentStore({ dir, sync: config.sync, access: 'owner' });
    try {
      await migrateNedbData(dir, store, log);
    } finally {
      await store.close();
    }
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/** An object store as opened from the config. */
export interface OpenedObjectStore {
  readonly store: ObjectStore;
  /**
   * Set when the backend's signed upload and download URLs point at kinbase itself (local disk):
   * the same store, for the storage routes that serve those URLs (http/routes/storage).
   */
  readonly selfServed?: LocalDiskObjectStore;
  /**
   * Set when only the upload URLs point at kinbase (S3: the SDKs' resumable protocol is served by
   * kinbase, which streams the bytes on into the bucket): the store, for the upload route.
   */
  readonly uploadReceiver?: S3ObjectStore;
}

/**
 * Builds the configured object store (an exhaustive switch over a closed set of adapters), with
 * what its URLs need served; `clock` (the wall clock by default) decides when its signed URLs expire.
 */
export async function createObjectStore(
  config: StorageConfig,
  options: { dataDir: string; publicUrl: string; signingSecret: string; clock?: Clock; role?: StoreRole },
): Promise<OpenedObjectStore> {
  const clock = options.clock ? { clock: options.clock } : {};
  switch (config.kind) {
    case 'local': {
      // Locks left by an earlier run go (a cluster's primary clears them before forking instead).
      if (options.role !== 'worker') clearSessionLocks(uploadLocksDir(options.dataDir));
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
    case 's3': {
      const { S3ObjectStore } = await import('./objects/s3/s3.object-store');
      const store = await S3ObjectStore.open({
        bucket: config.bucket,
        region: config.region,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        forcePathStyle: config.forcePathStyle,
        ...(config.publicUrl ? { publicBaseUrl: config.publicUrl } : {}),
        kinbaseUrl: options.publicUrl,
        signingSecret: options.signingSecret,
        sessionsDir: path.join(options.dataDir, 's3-uploads'),
        ...clock,
      });
      return { store, uploadReceiver: store };
    }
    default:
      return assertNever(config);
  }
}

/** Where the local backend's upload sessions keep their lock files (upload-sessions.ts). */
function uploadLocksDir(dataDir: string): string {
  return path.join(dataDir, 'objects', '.uploads', 'locks');
}

function assertNever(value: never): never {
  throw new Error(`unknown adapter ${JSON.stringify(value)}`);
}
