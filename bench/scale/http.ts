/**
 * The HTTP side of bench:scale: one keep-alive client for the server under test, timed requests,
 * and sampling bounded by count and time.
 */
import { Agent, request } from 'node:http';

export const basic = (user: string, secret: string): string =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

export interface Reply {
  status: number;
  body: string;
  ms: number;
}

export class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(readonly base: string) {}

  /** One request; resolves with status, body and latency (never rejects on an HTTP status). */
  send(method: string, path: string, auth: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: auth,
            'x-kinvey-api-version': '5',
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            }),
          );
          res.once('error', reject);
        },
      );
      req.once('error', reject);
      req.end(payload);
    });
  }

  /** Like send, but a status other than `expect` is an error naming the request and the answer. */
  async expect(expect: number, method: string, path: string, auth: string, body?: unknown): Promise<Reply> {
    const reply = await this.send(method, path, auth, body);
    if (reply.status !== expect) throw new Error(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Samples {
  /** Latencies in ms, sorted. */
  sorted: number[];
  p50: number;
  p99: number;
}

/**
 * Runs `probe` one at a time, up to `count` times or until `maxMs` has passed (at least once),
 * and returns its latencies.
 */
export async function samples(count: number, maxMs: number, probe: (i: number) => Promise<number>): Promise<Samples> {
  const out: number[] = [];
  const started = performance.now();
  while (out.length < count && (out.length === 0 || performance.now() - started < maxMs))
    out.push(await probe(out.length));
  out.sort((a, b) => a - b);
  return { sorted: out, p50: quantile(out, 0.5), p99: quantile(out, 0.99) };
}

export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
