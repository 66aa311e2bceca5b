/** The app at a glance: the handshake, the store and storage in use, live request rate and latency. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, formatBytes, formatDate, useAsync } from '../components/common';
import { parseMetrics, ratesBetween, type MetricsSample, type Rates } from '../metrics';
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
const SAMPLE_MS = 5000;

export function Overview({ api }: { api: Api }) {
  const hello = useAsync(() => api.get<Record<string, string>>(`/appdata/${encodeURIComponent(api.appKey)}`), [api]);
  const server = useAsync(() => api.get<ServerInfo>(api.admin('server')), [api]);
  const collections = useAsync(() => api.get<Array<{ name: string; count: number | null }>>(api.admin('collections')), [api]);
  const users = useAsync(() => api.get<{ count: number }>(`${api.user()}/_count`), [api]);
  const { rates, latest, error: metricsError } = useMetrics(api);
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
            <dt>App</dt><dd>{hello.value?.appName ?? '…'}</dd>
            <dt>App key</dt><dd><code>{api.appKey}</code></dd>
            <dt>Answer</dt><dd>{hello.value?.kinvey ?? '…'}</dd>
            <dt>API version</dt><dd>{hello.value?.version ?? '…'}</dd>
          </dl>
        </div>
        <div class="card" data-testid="server">
          <h3>Server</h3>
          {info && (
            <dl>
              <dt>Documents</dt><dd data-testid="store-kind">{STORE_NAMES[info.documents.kind] ?? info.documents.kind}</dd>
              <dt>Files</dt><dd data-testid="storage-kind">{STORAGE_NAMES[info.storage.kind] ?? info.storage.kind}{info.storage.bucket ? ` (bucket ${info.storage.bucket})` : ''}</dd>
              <dt>Public URL</dt><dd><code>{info.publicUrl}</code></dd>
              <dt>Started</dt><dd>{formatDate(info.startedAt)}</dd>
            </dl>
          )}
        </div>
        <div class="card" data-testid="data">
          <h3>Data</h3>
          <dl>
            <dt>Collections</dt><dd><a href={href(api.appKey, 'collections')} data-testid="collections-total">{collections.value ? collections.value.length.toLocaleString() : '…'}</a></dd>
            <dt>Entities</dt><dd data-testid="entities-total">{entities === undefined ? '…' : entities.toLocaleString()}</dd>
            <dt>Active users</dt><dd><a href={href(api.appKey, 'users')} data-testid="users-total">{users.value ? users.value.count.toLocaleString() : '…'}</a></dd>
          </dl>
        </div>
        <div class="card" data-testid="traffic">
          <h3>Traffic (this instance)</h3>
          {metricsError ? <p class="muted">Metrics are not available: {String((metricsError as Error).message ?? metricsError)}</p> : (
            <dl>
              <dt>Requests</dt><dd data-testid="requests-total">{latest ? latest.requests.toLocaleString() : '…'}</dd>
              <dt>Rate</dt><dd data-testid="request-rate">{rates ? `${rates.requestsPerSecond.toFixed(1)} req/s` : 'measuring…'}</dd>
              <dt>Mean latency</dt><dd data-testid="latency">{rates?.meanLatencyMs == null ? (latest && latest.durationCount > 0 ? `${((latest.durationSum / latest.durationCount) * 1000).toFixed(1)} ms (since start)` : '…') : `${rates.meanLatencyMs.toFixed(1)} ms`}</dd>
              <dt>5xx answers</dt><dd>{latest ? latest.errors : '…'}</dd>
              <dt>Memory</dt><dd>{latest?.residentBytes == null ? '—' : formatBytes(latest.residentBytes)}</dd>
            </dl>
          )}
        </div>
      </div>
    </section>
  );
}

/** Samples /metrics every few seconds while the view is open. */
function useMetrics(api: Api): { rates: Rates | null; latest: MetricsSample | null; error: unknown } {
  const [state, setState] = useState<{ rates: Rates | null; latest: MetricsSample | null; error: unknown }>({ rates: null, latest: null, error: null });
  const previous = useRef<MetricsSample | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    const sample = async () => {
      try {
        const next = parseMetrics(await api.metricsText(), Date.now());
        if (stopped) return;
        const rates = ratesBetween(previous.current, next);
        previous.current = next;
        setState((s) => ({ rates: rates ?? s.rates, latest: next, error: null }));
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error }));
      }
    };
    void sample();
    const timer = setInterval(sample, SAMPLE_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api]);
  return state;
}
