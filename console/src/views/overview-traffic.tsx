/** The Overview's traffic card: this instance's requests, rate and latency from GET /metrics, with sparklines. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, type Api } from '../api';
import { formatBytes } from '../components/common';
import { parseMetrics, ratesBetween, type MetricsSample, type Rates } from '../metrics';

const SAMPLE_MS = 3000;
/** Two minutes of samples. */
const HISTORY = 40;

interface Traffic {
  latest: MetricsSample | null;
  history: Rates[];
  error: unknown;
}

export function TrafficCard({ api }: { api: Api }) {
  const { latest, history, error } = useMetrics(api);
  const rates = history[history.length - 1] ?? null;
  if (error) {
    return (
      <div class="card" data-testid="traffic">
        <h3>Traffic (this instance)</h3>
        <p class="muted">Metrics are not available: {describeError(error)}</p>
      </div>
    );
  }
  const sinceStart =
    latest && latest.durationCount > 0
      ? `${((latest.durationSum / latest.durationCount) * 1000).toFixed(1)} ms (since start)`
      : '…';
  return (
    <div class="card" data-testid="traffic">
      <h3>Traffic (this instance)</h3>
      <dl>
        <dt>Requests</dt>
        <dd data-testid="requests-total">{latest ? latest.requests.toLocaleString() : '…'}</dd>
        <dt>Rate</dt>
        <dd data-testid="request-rate" class="metric">
          <span>{rates ? `${rates.requestsPerSecond.toFixed(1)} req/s` : 'measuring…'}</span>
          <Sparkline values={history.map((r) => r.requestsPerSecond)} label="requests per second, last two minutes" />
        </dd>
        <dt>Mean latency</dt>
        <dd data-testid="latency" class="metric">
          <span>{rates?.meanLatencyMs == null ? sinceStart : `${rates.meanLatencyMs.toFixed(1)} ms`}</span>
          <Sparkline values={history.map((r) => r.meanLatencyMs ?? 0)} label="mean latency, last two minutes" />
        </dd>
        <dt>5xx answers</dt>
        <dd>{latest ? latest.errors : '…'}</dd>
        <dt>Memory</dt>
        <dd>{latest?.residentBytes == null ? '—' : formatBytes(latest.residentBytes)}</dd>
      </dl>
    </div>
  );
}

/** A small line chart of the last values (an SVG drawn from numbers: no inline style needed). */
function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return null;
  const width = 120;
  const height = 24;
  const top = Math.max(...values, 1e-9);
  const step = width / (HISTORY - 1);
  const offset = width - step * (values.length - 1);
  const points = values
    .map((v, i) => `${(offset + i * step).toFixed(1)},${(height - 2 - (v / top) * (height - 4)).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
    >
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
    </svg>
  );
}

/** Samples /metrics every few seconds while the Overview is open. */
function useMetrics(api: Api): Traffic {
  const [state, setState] = useState<Traffic>({ latest: null, history: [], error: null });
  const previous = useRef<MetricsSample | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    const sample = async () => {
      try {
        const next = parseMetrics(await api.metricsText(), Date.now());
        if (stopped) return;
        const rates = ratesBetween(previous.current, next);
        previous.current = next;
        setState((s) => ({
          latest: next,
          history: rates ? [...s.history, rates].slice(-HISTORY) : s.history,
          error: null,
        }));
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
