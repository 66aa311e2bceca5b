import path from 'node:path';
import type { DocumentsConfig, StorageConfig } from '../config';
import type { DocumentStore, ObjectStore } from '../ports';
import { EmbeddedDocumentStore } from './documents/embedded.document-store';
import { LocalDiskObjectStore } from './objects/local-disk.object-store';

// The MongoDB and GCS adapters are loaded only when configured: their client libraries hold about
// 13 MB of heap, which a server on the embedded defaults would otherwise carry (and mark on every
// major GC) for nothing.

/** Builds the configured document store (an exhaustive switch over a closed set of adapters). */
export async function createDocumentStore(config: DocumentsConfig, dataDir: string): Promise<DocumentStore> {
  switch (config.kind) {
    case 'embedded':
      return new EmbeddedDocumentStore({ dir: path.join(dataDir, 'documents'), sync: config.sync });
    case 'mongodb': {
      const { MongoDocumentStore } = await import('./documents/mongo.document-store');
      return MongoDocumentStore.connect({ url: config.url, dbPrefix: config.dbPrefix });
    }
    default:
      return assertNever(config);
  }
}

/** Builds the configured object store. */
export async function createObjectStore(
  config: StorageConfig,
  options: { dataDir: string; publicUrl: string; signingSecret: string },
): Promise<ObjectStore> {
  switch (config.kind) {
    case 'local':
      return new LocalDiskObjectStore({ dir: path.join(options.dataDir, 'objects'), publicUrl: options.publicUrl, signingSecret: options.signingSecret });
    case 'gcs': {
      const { GcsObjectStore } = await import('./objects/gcs.object-store');
      return GcsObjectStore.create({
        bucket: config.bucket,
        ...(config.keyFile ? { keyFile: config.keyFile } : {}),
        ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
        ...(config.hmac ? { hmac: config.hmac } : {}),
      });
    }
    default:
      return assertNever(config);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown adapter ${JSON.stringify(value)}`);
}
