/**
 * A cap on the calls in flight to one store. A slow or hung dependency (seconds of latency, a
 * blackholed connection) would otherwise let every request that needs it wait, each holding its
 * body, its socket and its closures: memory would grow with the arrival rate times the delay. Past
 * the cap a call is refused at once with StoreError('unavailable'), which the client sees as 503
 * with Retry-After; calls that do not reach the backend (signing URLs, building public URLs) are
 * not counted, so reads that only sign keep answering while the backend is down.
 */
import type { DocumentStore, ObjectStore, SharedState } from '../../domain/ports';
import { StoreError } from '../../domain/ports';

/** Counts calls in flight and refuses one past `max`; `refused` is told of each refusal. */
export class InFlightLimit {
  private inFlight = 0;

  constructor(
    readonly name: string,
    readonly max: number,
    private readonly refused: () => void = () => undefined,
  ) {}

  /** Calls now in flight. */
  get current(): number {
    return this.inFlight;
  }

  /**
   * Runs the call, or throws StoreError('unavailable') at once when `max` are in flight. With
   * `deadlineMs`, a call still running then is answered with StoreError('unavailable') too, but
   * keeps its place in the count until it really ends: abandoned calls still bound the next ones.
   */
  async run<T>(call: () => Promise<T>, deadlineMs?: number): Promise<T> {
    if (this.inFlight >= this.max) {
      this.refused();
      throw new StoreError('unavailable', `too many calls to the ${this.name} in flight (${this.max})`);
    }
    this.inFlight += 1;
    const running = call().finally(() => {
      this.inFlight -= 1;
    });
    if (deadlineMs === undefined) return running;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreError('unavailable', `the ${this.name} did not answer within ${deadlineMs} ms`)),
        deadlineMs,
      );
    });
    running.catch(() => undefined);
    try {
      return await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const DOCUMENT_CALLS = [
  'insert',
  'upsert',
  'putMany',
  'scan',
  'replace',
  'setFields',
  'find',
  'findByIds',
  'count',
  'group',
  'deleteById',
  'deleteMany',
  'listCollections',
] as const satisfies ReadonlyArray<keyof DocumentStore>;

// Every data call of the port is listed above: a call added to DocumentStore and not here would
// vanish from the limited store (it is built call by call), so this fails to compile instead.
type UnlistedDocumentCall = Exclude<
  keyof DocumentStore,
  (typeof DOCUMENT_CALLS)[number] | 'close' | 'ensureIndex' | 'sharedState'
>;
const everyDocumentCallListed: [UnlistedDocumentCall] extends [never] ? true : UnlistedDocumentCall = true;
void everyDocumentCallListed;

/** The same document store with every data call under `limit` (closing and ensuring indexes are not limited). */
export function limitDocumentStore(store: DocumentStore, limit: InFlightLimit, deadlineMs?: number): DocumentStore {
  const limited: DocumentStore = {
    close: () => store.close(),
    // Not limited: adapters remember created indexes, so all but the first call reach no server,
    // and one request asks for several at once.
    ensureIndex: (scope, index) => store.ensureIndex(scope, index),
    ...(store.sharedState
      ? { sharedState: (clock?: () => Date) => limitSharedState(store.sharedState!(clock), limit, deadlineMs) }
      : {}),
  } as DocumentStore;
  for (const name of DOCUMENT_CALLS) {
    const original = (store[name] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (limited as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      limit.run(() => original(...args), deadlineMs);
  }
  return limited;
}

function limitSharedState(shared: SharedState, limit: InFlightLimit, deadlineMs?: number): SharedState {
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          limit.run(() => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args), deadlineMs);
      },
    });
  return { counters: wrap(shared.counters), logs: wrap(shared.logs) };
}

const OBJECT_CALLS = [
  'createUploadSession',
  'write',
  'read',
  'stat',
  'delete',
  'deletePrefix',
  'setPublic',
  'uploadProgress',
  'cancelUpload',
  'sweepUploadSessions',
] as const satisfies ReadonlyArray<keyof ObjectStore>;

/**
 * The same object store with every call that reaches the backend under `limit`, answered within
 * `deadlineMs` (a client library's own retries and token fetches can outlast its request
 * timeout). A read counts until its stream is handed over (the stream is bounded by the client's socket).
 */
export function limitObjectStore(store: ObjectStore, limit: InFlightLimit, deadlineMs?: number): ObjectStore {
  const limited = Object.create(store) as ObjectStore;
  for (const name of OBJECT_CALLS) {
    const original = (store as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>)[name];
    if (!original) continue;
    Object.defineProperty(limited, name, {
      value: (...args: unknown[]) => limit.run(() => original.apply(store, args), deadlineMs),
    });
  }
  return limited;
}
