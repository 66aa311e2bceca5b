/** The app at a glance: the handshake, the store and storage in use, live request rate and latency. */
import type { Api } from '../api';
import { ErrorBox, formatDate, useAsync } from '../components/common';
import { TrafficCard } from './overview-traffic';
import { href } from '../router';

interface ServerInfo {
  version: string;
  appName: string;
  documents: { kind: string };
  storage: { kind: string; bucket?: string };
  publicUrl: string;
  startedAt: string;
  uptimeSeconds: number;
  limits: Record<string, string | number>;
}

const STORE_NAMES: Record<string, string> = { embedded: 'Embedded (SQLite, in the data dir)', mongodb: 'MongoDB' };
const STORAGE_NAMES: Record<string, string> = { local: 'Local disk (in the data dir)', gcs: 'Google Cloud Storage' };

export function Overview({ api }: { api: Api }) {
  const hello = useAsync(() => api.get<Record<string, string>>(`/appdata/${encodeURIComponent(api.appKey)}`), [api]);
  const server = useAsync(() => api.get<ServerInfo>(api.admin('server')), [api]);
  const collections = useAsync(
    () => api.get<Array<{ name: string; count: number | null }>>(api.admin('collections')),
    [api],
  );
  const users = useAsync(() => api.get<{ count: number }>(`${api.user()}/_count`), [api]);
  const entities = collections.value?.reduce((sum, c) => sum + (c.count ?? 0), 0);
  const info = server.value;

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <ErrorBox error={hello.error ?? server.error ?? collections.error ?? users.error} />
      <div class="cards">
        <div class="card" data-testid="handshake">
          <h3>Handshake</h3>
          <dl>
            <dt>App</dt>
            <dd>{hello.value?.appName ?? '…'}</dd>
            <dt>App key</dt>
            <dd>
              <code>{api.appKey}</code>
            </dd>
            <dt>Answer</dt>
            <dd>{hello.value?.kinvey ?? '…'}</dd>
            <dt>API version</dt>
            <dd>{hello.value?.version ?? '…'}</dd>
          </dl>
        </div>
        <div class="card" data-testid="server">
          <h3>Server</h3>
          {info && (
            <dl>
              <dt>Documents</dt>
              <dd data-testid="store-kind">{STORE_NAMES[info.documents.kind] ?? info.documents.kind}</dd>
              <dt>Files</dt>
              <dd data-testid="storage-kind">
                {STORAGE_NAMES[info.storage.kind] ?? info.storage.kind}
                {info.storage.bucket ? ` (bucket ${info.storage.bucket})` : ''}
              </dd>
              <dt>Public URL</dt>
              <dd>
                <code>{info.publicUrl}</code>
              </dd>
              <dt>Started</dt>
              <dd>{formatDate(info.startedAt)}</dd>
            </dl>
          )}
        </div>
        <div class="card" data-testid="data">
          <h3>Data</h3>
          <dl>
            <dt>Collections</dt>
            <dd>
              <a href={href(api.appKey, 'collections')} data-testid="collections-total">
                {collections.value ? collections.value.length.toLocaleString() : '…'}
              </a>
            </dd>
            <dt>Entities</dt>
            <dd data-testid="entities-total">{entities === undefined ? '…' : entities.toLocaleString()}</dd>
            <dt>Active users</dt>
            <dd>
              <a href={href(api.appKey, 'users')} data-testid="users-total">
                {users.value ? users.value.count.toLocaleString() : '…'}
              </a>
            </dd>
          </dl>
        </div>
        <TrafficCard api={api} />
      </div>
    </section>
  );
}
