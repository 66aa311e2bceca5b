/**
 * Reads the few numbers the Overview shows out of the Prometheus text of `GET /metrics`. Rates
 * come from two samples: requests and summed latency both grow monotonically, so the deltas
 * between samples are the request rate and the mean latency over that interval.
 */

export interface MetricsSample {
  at: number;
  requests: number;
  errors: number;
  durationSum: number;
  durationCount: number;
  residentBytes: number | null;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

export function parseMetrics(text: string, at: number): MetricsSample {
  const sample: MetricsSample = { at, requests: 0, errors: 0, durationSum: 0, durationCount: 0, residentBytes: null };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === 'kinbase_http_requests_total') {
      sample.requests += value;
      if (/status="5\d\d"/.test(labels)) sample.errors += value;
    } else if (name === 'kinbase_http_request_duration_seconds_sum') sample.durationSum += value;
    else if (name === 'kinbase_http_request_duration_seconds_count') sample.durationCount += value;
    else if (name === 'process_resident_memory_bytes') sample.residentBytes = value;
  }
  return sample;
}

export interface Rates {
  requestsPerSecond: number;
  meanLatencyMs: number | null;
  serverErrors: number;
}

/** Rates between two samples; null until there are two. */
export function ratesBetween(before: MetricsSample | undefined, after: MetricsSample): Rates | null {
  if (!before || after.at <= before.at) return null;
  const seconds = (after.at - before.at) / 1000;
  const count = after.durationCount - before.durationCount;
  return {
    requestsPerSecond: Math.max(0, after.requests - before.requests) / seconds,
    meanLatencyMs: count > 0 ? ((after.durationSum - before.durationSum) / count) * 1000 : null,
    serverErrors: after.errors,
  };
}
