/**
 * GET /metrics: Prometheus text, for master credentials or the configured token only; labels are
 * route patterns (never client paths); every request's document store calls are counted.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { roundTripsDuring, sample } from '../support/metrics-text';
import { createUser } from '../support/scenarios';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { basic, DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

const TOKEN = 'metrics-token-'.padEnd(40, 'x');

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KINBASE_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const scrape = async () => (await request(t.app).get('/metrics').set('Authorization', t.masterAuth).expect(200)).text;

  test('answers master credentials and the token; nobody else', async () => {
    for (const auth of [
      undefined,
      t.appAuth,
      basic(t.appKey, 'wrong-master-secret'),
      basic('kid_unknown', t.masterSecret),
      'Bearer wrong-token',
      `Bearer ${TOKEN}x`,
    ]) {
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
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'b1', title: 'dune' })
      .expect(201);
    for (const id of ['b1', 'no-such-id', 'x'.repeat(300)])
      await request(t.app).get(`/appdata/${t.appKey}/books/${id}`).set('Authorization', t.masterAuth);
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
    await request(t.app)
      .post(`/appdata/${t.appKey}/books`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'b2', title: 'emma' })
      .expect(201);
    await request(t.app).get(`/appdata/${t.appKey}/books/b2`).set('Authorization', t.masterAuth).expect(200);
    const after = await scrape();
    expect((sample(after, 'kinbase_store_round_trips_per_request_count', { method: 'GET', route }) ?? 0) - count0).toBe(
      1,
    );
    expect((sample(after, 'kinbase_store_round_trips_per_request_sum', { method: 'GET', route }) ?? 0) - sum0).toBe(1);
    // The read and the insert before it, by operation.
    expect(sample(after, 'kinbase_store_round_trips_total', { operation: 'findByIds' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'kinbase_store_round_trips_total', { operation: 'insert' })).toBeGreaterThanOrEqual(2);
  });
});

/** Uploads a file through the real two-step API (metadata, then the bytes to the upload URL); returns its id. */
async function upload(t: TestApp, auth: string): Promise<string> {
  const data = randomBytes(200);
  const res = await request(t.app)
    .post(`/blob/${t.appKey}`)
    .set('Authorization', auth)
    .send({ mimeType: 'image/png', size: data.length })
    .expect(201);
  const put = await fetch(res.body._uploadURL as string, {
    method: 'PUT',
    headers: { ...res.body._requiredHeaders, 'Content-Type': 'image/png' },
    body: data,
  });
  expect(put.status).toBeLessThan(300);
  return res.body._id as string;
}

const ref = (id: string) => ({ _type: 'KinveyFile', _id: id });

describe.each(DOCUMENT_STORES)('store round trips of a list on the %s document store', (documents) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ documents });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a user listing entities with KinveyFile references costs one query and one _blob lookup', async () => {
    const alice = await createUser(t, 'alice');
    const files = [await upload(t, alice.auth), await upload(t, alice.auth)];
    for (let i = 0; i < 20; i += 1) {
      await request(t.app)
        .post(`/appdata/${t.appKey}/albums`)
        .set('Authorization', alice.auth)
        .send({ n: i, cover: ref(files[0] as string), back: ref(files[1] as string) })
        .expect(201);
    }
    const list = () => request(t.app).get(`/appdata/${t.appKey}/albums`).set('Authorization', alice.auth).expect(200);
    // The warm-up resolves the session and sees the uploads' bytes arrived (which writes the records).
    const warm = await list();
    expect(warm.body).toHaveLength(20);
    const measured = await roundTripsDuring(t, 'GET', '/appdata/:appKey/:collection', async () => {
      const res = await list();
      expect(res.body[0].cover._downloadURL).toEqual(expect.any(String));
    });
    expect(measured).toEqual({ requests: 1, roundTrips: 2 });
  });

  test('a list without references is one query', async () => {
    const bob = await createUser(t, 'bob');
    await request(t.app).post(`/appdata/${t.appKey}/plain`).set('Authorization', bob.auth).send({ n: 1 }).expect(201);
    const list = () => request(t.app).get(`/appdata/${t.appKey}/plain`).set('Authorization', bob.auth).expect(200);
    await list();
    expect(await roundTripsDuring(t, 'GET', '/appdata/:appKey/:collection', list)).toEqual({
      requests: 1,
      roundTrips: 1,
    });
  });
});

describe('metrics of caches, references, uploads and Business Logic', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = makeTempDir('kinbase-metrics-bl-');
    const code = (body: string) => ({ type: 'internal', code: body });
    writeFileSync(
      path.join(dir, 'env.json'),
      JSON.stringify({
        schemaVersion: '1.0.0',
        configType: 'environment',
        collections: { notes: { type: 'internal', permissions: 'shared' } },
        collectionHooks: {
          notes: { onPreSave: code('function onPreSave(request, response, modules) { response.continue(); }') },
        },
        customEndpoints: {
          hello: code(
            'function onRequest(request, response, modules) { response.body = { hi: true }; response.complete(200); }',
          ),
          broken: code('function onRequest(request, response, modules) { throw new Error("broken on purpose"); }'),
        },
      }),
    );
    t = await startTestApp({ environment: { file: path.join(dir, 'env.json') } });
  });
  afterAll(async () => {
    await t?.close();
    if (dir) removeTempDir(dir);
  });

  const scrape = async () => (await request(t.app).get('/metrics').set('Authorization', t.masterAuth).expect(200)).text;
  /** How much each sample moved while `act` ran. */
  async function moved(
    samples: Array<[string, Record<string, string>]>,
    act: () => Promise<unknown>,
  ): Promise<number[]> {
    const before = await scrape();
    await act();
    const after = await scrape();
    return samples.map(([name, labels]) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0));
  }

  test('session cache lookups: a miss, then hits', async () => {
    const carol = await createUser(t, 'carol');
    const counts = await moved(
      [
        ['kinbase_session_cache_lookups_total', { outcome: 'miss' }],
        ['kinbase_session_cache_lookups_total', { outcome: 'hit' }],
      ],
      async () => {
        for (let i = 0; i < 3; i += 1)
          await request(t.app).get(`/user/${t.appKey}/_me`).set('Authorization', carol.auth).expect(200);
      },
    );
    expect(counts).toEqual([1, 2]);
  });

  test('references, pending-upload checks and signed-URL cache lookups', async () => {
    const dave = await createUser(t, 'dave');
    const file = await upload(t, dave.auth);
    const names: Array<[string, Record<string, string>]> = [
      ['kinbase_file_references_total', { outcome: 'expanded' }],
      ['kinbase_file_references_total', { outcome: 'bare' }],
      ['kinbase_pending_upload_checks_total', { outcome: 'arrived' }],
      ['kinbase_signed_url_cache_lookups_total', { outcome: 'miss' }],
      ['kinbase_signed_url_cache_lookups_total', { outcome: 'hit' }],
    ];
    // The save answers the entity with its references resolved: the upload is still pending in its
    // record, so it is checked (the bytes arrived), and the file's one URL is signed (both sites
    // share the file's expansion; the missing file stays bare).
    expect(
      await moved(names, () =>
        request(t.app)
          .post(`/appdata/${t.appKey}/things`)
          .set('Authorization', dave.auth)
          .send({ _id: 'th1', a: ref(file), b: ref(file), gone: ref('no-such-file') })
          .expect(201),
      ),
    ).toEqual([2, 1, 1, 1, 0]);
    // A read: nothing pending any more, and the URL comes from the cache.
    const read = () =>
      request(t.app).get(`/appdata/${t.appKey}/things/th1`).set('Authorization', dave.auth).expect(200);
    expect(await moved(names, read)).toEqual([2, 1, 0, 0, 1]);
  });

  test('a pending upload whose bytes have not arrived is counted as waiting', async () => {
    const erin = await createUser(t, 'erin');
    const res = await request(t.app)
      .post(`/blob/${t.appKey}`)
      .set('Authorization', erin.auth)
      .send({ mimeType: 'text/plain', size: 10 })
      .expect(201);
    await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .set('Authorization', erin.auth)
      .send({ _id: 'th2', f: ref(res.body._id as string) })
      .expect(201);
    const counts = await moved([['kinbase_pending_upload_checks_total', { outcome: 'waiting' }]], () =>
      request(t.app).get(`/appdata/${t.appKey}/things/th2`).set('Authorization', erin.auth).expect(200),
    );
    expect(counts).toEqual([1]);
  });

  test('Business Logic calls by kind, function and outcome', async () => {
    const frank = await createUser(t, 'frank');
    const counts = await moved(
      [
        ['kinbase_business_logic_calls_total', { kind: 'hook', function: 'onPreSave', outcome: 'ok' }],
        ['kinbase_business_logic_calls_total', { kind: 'endpoint', function: 'hello', outcome: 'ok' }],
        ['kinbase_business_logic_calls_total', { kind: 'endpoint', function: 'broken', outcome: 'error' }],
      ],
      async () => {
        await request(t.app)
          .post(`/appdata/${t.appKey}/notes`)
          .set('Authorization', frank.auth)
          .send({ text: 'hi' })
          .expect(201);
        await request(t.app)
          .post(`/rpc/${t.appKey}/custom/hello`)
          .set('Authorization', frank.auth)
          .send({})
          .expect(200);
        expect(
          (await request(t.app).post(`/rpc/${t.appKey}/custom/broken`).set('Authorization', frank.auth).send({}))
            .status,
        ).toBe(550);
        // An endpoint the app does not have is never a call (and never a label).
        await request(t.app)
          .post(`/rpc/${t.appKey}/custom/no-such-endpoint`)
          .set('Authorization', frank.auth)
          .send({})
          .expect(404);
      },
    );
    expect(counts).toEqual([1, 1, 1]);
    expect(await scrape()).not.toContain('no-such-endpoint');
  });
});
