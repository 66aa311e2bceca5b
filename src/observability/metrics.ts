/**
 * kinbase's metrics, in Prometheus' text format (prom-client), one registry per app instance (no
 * process-wide singleton, so tests and several apps in one process never mix their numbers).
 * Labels come from route patterns and statuses only, never from paths or client input, so their
 * number is bounded whatever clients send.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What one request has done so far; kept in AsyncLocalStorage for the request's whole async tree. */
interface RequestTally {
  storeRoundTrips: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly tally = new AsyncLocalStorage<RequestTally>();

  private readonly requests = new Counter({
    name: 'kinbase_http_requests_total', help: 'HTTP requests answered, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'kinbase_http_request_duration_seconds', help: 'Time from request to the last byte of the answer, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly roundTripsPerRequest = new Histogram({
    name: 'kinbase_store_round_trips_per_request', help: 'Document store calls made while answering one request, by route pattern.',
    labelNames: ['method', 'route'] as const, buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64], registers: [this.registry],
  });

  private readonly roundTrips = new Counter({
    name: 'kinbase_store_round_trips_total', help: 'Document store calls, by operation (requests and background work).',
    labelNames: ['operation'] as const, registers: [this.registry],
  });

  constructor() {
    new Gauge({
      name: 'process_resident_memory_bytes', help: 'Resident memory of the kinbase process.', registers: [this.registry],
      collect() { this.set(process.memoryUsage().rss); },
    });
  }

  /** Runs `next` (the rest of the request) with a fresh tally. */
  track(next: () => void): void {
    this.tally.run({ storeRoundTrips: 0 }, next);
  }

  /** The current request's tally, or undefined outside a request (background work). */
  current(): RequestTally | undefined {
    return this.tally.getStore();
  }

  /** One document store call, counted for its request when it belongs to one. */
  storeCall(operation: string): void {
    this.roundTrips.inc({ operation });
    const tally = this.tally.getStore();
    if (tally) tally.storeRoundTrips += 1;
  }

  /** A request ended: its route pattern (bounded), status, duration and store calls. */
  requestEnded(method: string, route: string, status: number, seconds: number, tally: RequestTally | undefined): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
    if (tally) this.roundTripsPerRequest.observe({ method, route }, tally.storeRoundTrips);
  }
}
