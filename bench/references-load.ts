/**
 * Load child of bench/references.ts: a small keep-alive HTTP client that runs in its own process,
 * so the server under test never shares an event loop with the load. Loopback only, bounded by a
 * request count and a time limit. Prints one JSON line with the result on stdout.
 *
 * Modes (argv[2] is a JSON LoadSpec):
 * - `load`:  `concurrency` connections GET `url` back to back. With `cold` set, request i appends
 *            kinveyfile_ttl/kinveyfile_tls chosen so that no two requests sign the same expiry
 *            (see coldParams), i.e. the signed-URL cache never hits.
 * - `probe`: one connection GETs `url` every `intervalMs` and records each latency.
 */
import { Agent, request } from 'node:http';

export interface LoadSpec {
  mode: 'load' | 'probe';
  url: string;
  auth: string;
  concurrency?: number;
  maxRequests: number;
  maxMs: number;
  /** First index of the cold-cache parameter sequence (continue it across rounds on one server). */
  cold?: { from: number };
  intervalMs?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  bytes: number;
  /** probe mode: latencies in ms, sorted. */
  latenciesMs?: number[];
  firstError?: string;
}

/** Quantised expiries use a 300 s window for TTLs >= 3000 s, so TTLs 300 s apart never collide. */
const COLD_TTL_BASE = 3000;
const COLD_TTL_STEP = 300;
export const COLD_TTL_COUNT = Math.floor((7 * 24 * 3600 - COLD_TTL_BASE) / COLD_TTL_STEP) + 1;
/** Distinct (ttl, tls) pairs, each signing a distinct expiry while the sequence is walked forward. */
export const COLD_BUDGET = COLD_TTL_COUNT * 2;

/**
 * Query parameters of cold request k: the tls flag alternates and the TTL grows by one window
 * every two requests, so expiries strictly increase per scheme (time only moves forward).
 */
export function coldParams(k: number): string {
  if (k >= COLD_BUDGET)
    throw new Error(`cold request ${k} exceeds the budget of ${COLD_BUDGET} distinct expiries per server`);
  const ttl = COLD_TTL_BASE + COLD_TTL_STEP * Math.floor(k / 2);
  return `kinveyfile_ttl=${ttl}&kinveyfile_tls=${k % 2 === 0 ? 'false' : 'true'}`;
}

function get(agent: Agent, url: string, auth: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { Authorization: auth, 'X-Kinvey-API-Version': '5' } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const concurrency = spec.concurrency ?? 8;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const sep = spec.url.includes('?') ? '&' : '?';
  let issued = 0;
  let errors = 0;
  let done = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + spec.maxMs;
  const worker = async (): Promise<void> => {
    while (issued < spec.maxRequests && performance.now() < deadline) {
      const i = issued++;
      const url = spec.cold ? `${spec.url}${sep}${coldParams(spec.cold.from + i)}` : spec.url;
      try {
        const res = await get(agent, url, spec.auth);
        bytes += res.bytes;
        if (res.status !== 200) {
          errors++;
          firstError ??= `HTTP ${res.status}`;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: done, errors, seconds, rps: done / seconds, bytes, ...(firstError ? { firstError } : {}) };
}

async function runProbe(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const interval = spec.intervalMs ?? 5;
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + spec.maxMs;
  let next = started;
  while (latencies.length + errors < spec.maxRequests && performance.now() < deadline) {
    const sent = performance.now();
    try {
      const res = await get(agent, spec.url, spec.auth);
      bytes += res.bytes;
      if (res.status === 200) latencies.push(performance.now() - sent);
      else {
        errors++;
        firstError ??= `HTTP ${res.status}`;
      }
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
    next += interval;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else next = performance.now();
  }
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length + errors,
    errors,
    seconds,
    rps: (latencies.length + errors) / seconds,
    bytes,
    latenciesMs: latencies,
    ...(firstError ? { firstError } : {}),
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(spec.url)) throw new Error(`loopback URLs only: ${spec.url}`);
  const result = spec.mode === 'probe' ? await runProbe(spec) : await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
