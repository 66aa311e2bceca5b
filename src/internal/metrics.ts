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

/** What checking a pending upload found: its bytes, none yet, bytes contradicting the declared size, or an error. */
export type PendingUploadOutcome = 'arrived' | 'waiting' | 'rejected' | 'failed';

export class Metrics {
  readonly registry = new Registry();
  private readonly tally = new AsyncLocalStorage<RequestTally>();

  private readonly requests = new Counter({
    name: 'kinbase_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'kinbase_http_request_duration_seconds',
    help: 'Time from request to the last byte of the answer, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly roundTripsPerRequest = new Histogram({
    name: 'kinbase_store_round_trips_per_request',
    help: 'Document store calls made while answering one request, by route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
    registers: [this.registry],
  });

  private readonly roundTrips = new Counter({
    name: 'kinbase_store_round_trips_total',
    help: 'Document store calls, by operation (requests and background work).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  private readonly sessionCache = new Counter({
    name: 'kinbase_session_cache_lookups_total',
    help: 'Session token lookups in the in-process session cache, by outcome (hit: no store round trip).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly signedUrls = new Counter({
    name: 'kinbase_signed_url_cache_lookups_total',
    help: 'Download URLs asked of the signed-URL cache, by outcome (hit: no signing; a join of a signing in flight counts as a hit).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly references = new Counter({
    name: 'kinbase_file_references_total',
    help: 'KinveyFile references in responses, by outcome (expanded with a download URL, or left bare: missing, unreadable, or no link).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly pendingUploadChecks = new Counter({
    name: 'kinbase_pending_upload_checks_total',
    help: 'Object store checks of pending uploads (did the bytes arrive?), by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly businessLogicCalls = new Counter({
    name: 'kinbase_business_logic_calls_total',
    help: 'Business Logic calls, by kind (hook or endpoint), function (the hook name, or the configured endpoint name) and outcome (ok, or error: a 550 BL error or a Flex service error).',
    labelNames: ['kind', 'function', 'outcome'] as const,
    registers: [this.registry],
  });

  /** What GET /metrics serves: this registry, or the sum of a cluster's workers (`renderWith`). */
  private source: () => Promise<string> = () => this.registry.metrics();

  constructor() {
    new Gauge({
      name: 'kinbase_worker_processes',
      help: 'Worker processes whose numbers these are (1 per process; summed over a cluster).',
      registers: [this.registry],
      collect() {
        this.set(1);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory of the kinbase process.',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
  }

  /** The text GET /metrics serves (Prometheus format, `registry.contentType`). */
  render(): Promise<string> {
    return this.source();
  }

  /** Serves `source` instead of this process's registry (a cluster worker serves the cluster's sum). */
  renderWith(source: () => Promise<string>): void {
    this.source = source;
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

  /** One session cache lookup. */
  sessionCacheLookup(outcome: 'hit' | 'miss'): void {
    this.sessionCache.inc({ outcome });
  }

  /** One download URL asked of the signed-URL cache. */
  signedUrlLookup(outcome: 'hit' | 'miss'): void {
    this.signedUrls.inc({ outcome });
  }

  /** The references of one response: how many sites were expanded and how many stayed bare. */
  fileReferences(expanded: number, bare: number): void {
    if (expanded > 0) this.references.inc({ outcome: 'expanded' }, expanded);
    if (bare > 0) this.references.inc({ outcome: 'bare' }, bare);
  }

  /** One check of a pending upload against the object store. */
  pendingUploadCheck(outcome: PendingUploadOutcome): void {
    this.pendingUploadChecks.inc({ outcome });
  }

  /** One Business Logic call: `fn` is a hook name or a configured endpoint name, never client input. */
  businessLogicCall(kind: 'hook' | 'endpoint', fn: string, outcome: 'ok' | 'error'): void {
    this.businessLogicCalls.inc({ kind, function: fn, outcome });
  }

  /** A request ended: its route pattern (bounded), status, duration and store calls. */
  requestEnded(method: string, route: string, status: number, seconds: number, tally: RequestTally | undefined): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
    if (tally) this.roundTripsPerRequest.observe({ method, route }, tally.storeRoundTrips);
  }
}
