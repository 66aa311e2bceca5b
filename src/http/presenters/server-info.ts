/**
 * What the management API tells an app's operator about the server (`GET /admin/:appKey/server`):
 * which backends run and with which limits. Built from Config by an allow-list: no secret (MongoDB
 * URL, key file, HMAC or signing secret, app or master secret) can reach the answer.
 */
import type { AppDefinition, Config } from '../../config/load-config';

export interface ServerInfo {
  readonly version: string;
  readonly appName: string;
  readonly documents: { readonly kind: 'embedded' | 'mongodb' };
  readonly storage: { readonly kind: 'local' | 'gcs' | 's3'; readonly bucket?: string };
  readonly publicUrl: string;
  /** ISO time this app (the Express app) was built, about when the process started. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly limits: {
    readonly bodyLimit: string;
    readonly uploadUrlTtlSeconds: number;
    readonly downloadUrlTtlSeconds: number;
    readonly pendingUploadTtlSeconds: number;
  };
  readonly metrics: { readonly path: '/metrics' };
}

/** The server as `app`'s operator sees it, at `now`. Pure; never throws. */
export function describeServer(
  config: Config,
  app: AppDefinition,
  times: { version: string; startedAt: Date; now: Date },
): ServerInfo {
  return {
    version: times.version,
    appName: app.name,
    documents: { kind: config.documents.kind },
    storage:
      config.storage.kind === 'local'
        ? { kind: 'local' }
        : { kind: config.storage.kind, bucket: config.storage.bucket },
    publicUrl: config.publicUrl,
    startedAt: times.startedAt.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((times.now.getTime() - times.startedAt.getTime()) / 1000)),
    limits: {
      bodyLimit: config.bodyLimit,
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      pendingUploadTtlSeconds: config.pendingUploadTtlSeconds,
    },
    metrics: { path: '/metrics' },
  };
}
