/**
 * Whether this instance can serve: both stores answer within a short deadline, and the instance
 * is not draining (it got SIGTERM). What a load balancer's or Kubernetes' readiness check asks
 * (GET /readyz); liveness (GET /healthz) asks nothing of the stores.
 */
import type { DocumentStore, ObjectStore } from './ports';

/** How long each store has to answer a readiness probe. */
export const READINESS_DEADLINE_MS = 2000;
/** A key no object has: statting it is a round trip to the bucket that answers "none". */
const PROBE_OBJECT_KEY = '_kinbase/readiness-probe';
const PROBE_COLLECTION = '_kinbaseReadiness';

export type DependencyState = 'ok' | 'failed';

export interface ReadinessReport {
  readonly ready: boolean;
  /** Set while the instance stops: it finishes what it has but takes nothing new. */
  readonly draining: boolean;
  readonly documents: DependencyState;
  readonly objects: DependencyState;
}

export class Readiness {
  private stopping = false;

  constructor(
    private readonly documents: DocumentStore,
    private readonly objects: ObjectStore,
    /** Any app key: the document probe counts a collection of it. */
    private readonly probeAppKey: () => string,
    private readonly deadlineMs: number = READINESS_DEADLINE_MS,
  ) {}

  /** From now on the instance reports itself not ready (SIGTERM): the load balancer drains it. */
  drain(): void {
    this.stopping = true;
  }

  get draining(): boolean {
    return this.stopping;
  }

  /** Probes both stores at once, each within the deadline. Never throws. */
  async check(): Promise<ReadinessReport> {
    const [documents, objects] = await Promise.all([
      probe(
        () => this.documents.count({ appKey: this.probeAppKey(), collection: PROBE_COLLECTION }, {}),
        this.deadlineMs,
      ),
      probe(() => this.objects.stat(PROBE_OBJECT_KEY), this.deadlineMs),
    ]);
    return {
      ready: !this.stopping && documents === 'ok' && objects === 'ok',
      draining: this.stopping,
      documents,
      objects,
    };
  }
}

async function probe(call: () => Promise<unknown>, deadlineMs: number): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<DependencyState>((resolve) => {
    timer = setTimeout(() => resolve('failed'), deadlineMs);
  });
  try {
    return await Promise.race([
      call().then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
