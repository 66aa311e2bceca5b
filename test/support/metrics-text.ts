/** Reading GET /metrics in tests: one scrape, and the value of one sample in it. */
import request from 'supertest';
import type { TestApp } from './test-app';

/** The value of one sample line, e.g. `kinbase_http_requests_total{method="GET",...}`; undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = labelText.split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The app's metrics text, read with its master credentials. */
export async function scrape(t: TestApp): Promise<string> {
  return (await request(t.app).get('/metrics').set('Authorization', t.masterAuth).expect(200)).text;
}

/** Store round trips of the requests to `route` made while `act` ran (sum and count of the per-request histogram). */
export async function roundTripsDuring(
  t: TestApp,
  method: string,
  route: string,
  act: () => Promise<unknown>,
): Promise<{ requests: number; roundTrips: number }> {
  const read = (text: string) => ({
    requests: sample(text, 'kinbase_store_round_trips_per_request_count', { method, route }) ?? 0,
    roundTrips: sample(text, 'kinbase_store_round_trips_per_request_sum', { method, route }) ?? 0,
  });
  const before = read(await scrape(t));
  await act();
  const after = read(await scrape(t));
  return { requests: after.requests - before.requests, roundTrips: after.roundTrips - before.roundTrips };
}

/** Records the collection of every document store call, for tests that check which ones a request touched. */
export function collectionRecorder(): { calls: string[]; wrap: <S extends object>(store: S) => S } {
  const calls: string[] = [];
  const wrap = <S extends object>(store: S): S =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'close' || property === 'ensureIndex') return value;
        return (scope: { collection: string }, ...rest: unknown[]) => {
          calls.push(`${String(property)} ${scope.collection}`);
          return (value as (...args: unknown[]) => unknown).call(target, scope, ...rest);
        };
      },
    });
  return { calls, wrap };
}
