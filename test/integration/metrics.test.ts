/**
 * GET /metrics: Prometheus text, for master credentials or the configured token only; labels are
 * route patterns (never client paths); every request's document store calls are counted.
 */
import request from 'supertest';
import { basic, startTestApp, type TestApp } from '../support/test-app';

const TOKEN = 'metrics-token-'.padEnd(40, 'x');

/** The value of one sample line, e.g. `kinbase_http_requests_total{method="GET",...}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = labelText.split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => { t = await startTestApp({ env: { KINBASE_METRICS_TOKEN: TOKEN } }); });
  afterAll(async () => { await t?.close(); });

  const scrape = async () => (await request(t.app).get('/metrics').set('Authorization', t.masterAuth).expect(200)).text;

  test('answers master credentials and the token; nobody else', async () => {
    for (const auth of [undefined, t.appAuth, basic(t.appKey, 'wrong-master-secret'), basic('kid_unknown', t.masterSecret), 'Bearer wrong-token', `Bearer ${TOKEN}x`]) {
      const req = request(t.app).get('/metrics');
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('InvalidCredentials');
    }
    const byToken = await request(t.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(byToken.headers['content-type']).toMatch(/^text\/plain/);
    expect(byToken.text).toContain('# TYPE kinbase_http_requests_total counter');
    expect(byToken.text).toContain('process_resident_memory_bytes');
  });

  test('requests are labelled by route pattern, never by the path a client sent', async () => {
    await request(t.app).post(`/appdata/${t.appKey}/books`).set('Authorization', t.masterAuth).send({ _id: 'b1', title: 'dune' }).expect(201);
    for (const id of ['b1', 'no-such-id', 'x'.repeat(300)]) await request(t.app).get(`/appdata/${t.appKey}/books/${id}`).set('Authorization', t.masterAuth);
    await request(t.app).get('/no/such/route/at/all').expect(404);
    const text = await scrape();
    const route = '/appdata/:appKey/:collection/:id';
    expect(sample(text, 'kinbase_http_requests_total', { method: 'GET', route, status: '200' })).toBe(1);
    expect(sample(text, 'kinbase_http_requests_total', { method: 'GET', route, status: '404' })).toBe(2);
    expect(sample(text, 'kinbase_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toContain('no-such-id');
    expect(text).not.toContain(t.appKey);
  });

  test('counts the document store calls of each request: a read by id with master credentials is one', async () => {
    const route = '/appdata/:appKey/:collection/:id';
    const before = await scrape();
    const count0 = sample(before, 'kinbase_store_round_trips_per_request_count', { method: 'GET', route }) ?? 0;
    const sum0 = sample(before, 'kinbase_store_round_trips_per_request_sum', { method: 'GET', route }) ?? 0;
    await request(t.app).post(`/appdata/${t.appKey}/books`).set('Authorization', t.masterAuth).send({ _id: 'b2', title: 'emma' }).expect(201);
    await request(t.app).get(`/appdata/${t.appKey}/books/b2`).set('Authorization', t.masterAuth).expect(200);
    const after = await scrape();
    expect((sample(after, 'kinbase_store_round_trips_per_request_count', { method: 'GET', route }) ?? 0) - count0).toBe(1);
    expect((sample(after, 'kinbase_store_round_trips_per_request_sum', { method: 'GET', route }) ?? 0) - sum0).toBe(1);
    // The read and the insert before it, by operation.
    expect(sample(after, 'kinbase_store_round_trips_total', { operation: 'findByIds' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'kinbase_store_round_trips_total', { operation: 'insert' })).toBeGreaterThanOrEqual(2);
  });
});
