/**
 * Real faults between kinbase (the built server, two instances behind the round-robin proxy) and
 * its stores: a private FerretDB and fake-gcs-server, each reached through Toxiproxy. FerretDB is
 * stopped (SIGSTOP), killed (SIGKILL) and restarted; the proxies blackhole, reset, slow down.
 * Every test asserts what a client sees: no status but success or 503 KinveyInternalErrorRetry
 * with Retry-After, no request past the documented bound, every acknowledged write found
 * afterwards, and service again without a restart of kinbase.
 */
import { startFerretDb, type FerretDb } from '../support/ferretdb';
import { startFakeGcs } from '../support/fake-gcs';
import { startCluster, type Cluster } from '../support/cluster';
import { startToxiproxy, type Toxiproxy } from '../support/toxiproxy';

const APP = { appKey: 'kid_faults', appSecret: 'faults-app-secret', masterSecret: 'faults-master-secret' };
const master = `Basic ${Buffer.from(`${APP.appKey}:${APP.masterSecret}`).toString('base64')}`;
/** KINBASE_STORE_TIMEOUT_MS for this suite: short, so a blackhole costs seconds of test time. */
const STORE_TIMEOUT_MS = 1500;
/**
 * The documented bound (docs/several-instances.md): kinbase answers a store call within twice the
 * store timeout (the driver retries a retryable read or write once) plus server selection, by a
 * deadline of its own; 4 s of slack for several processes on a busy 2-core machine (the whole
 * suite runs beside this one). A request not answered by then counts as hung.
 */
const BOUND_MS = 2 * STORE_TIMEOUT_MS + STORE_TIMEOUT_MS + 4000;
/** How long each fault lasts: longer than the store timeout, so requests meet it. */
const FAULT_MS = 4000;
const MAX_DOCUMENT_CALLS = 16;

type Outcome = { status: number | 'hung'; body?: { error?: string }; retryAfter?: string | null };

describe('faults between kinbase and its stores', () => {
  let ferret: FerretDb;
  let gcs: Awaited<ReturnType<typeof startFakeGcs>>;
  let toxi: Toxiproxy;
  let cluster: Cluster;

  beforeAll(async () => {
    [ferret, gcs, toxi] = await Promise.all([startFerretDb(), startFakeGcs(), startToxiproxy()]);
    const mongoPort = await toxi.proxy('mongo', `127.0.0.1:${ferret.port}`);
    const gcsPort = await toxi.proxy('gcs', new URL(gcs.endpoint).host);
    cluster = await startCluster({
      size: 2,
      apps: [APP],
      mongoUrl: `mongodb://127.0.0.1:${mongoPort}/`,
      gcsEndpoint: `http://127.0.0.1:${gcsPort}`,
      gcsAdminEndpoint: gcs.endpoint,
      env: {
        KINBASE_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
        KINBASE_MAX_DOCUMENT_CALLS: String(MAX_DOCUMENT_CALLS),
      },
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all([ferret?.stop(), gcs?.stop(), toxi?.stop()]);
  });

  /** One request through the balancer, abandoned (and reported 'hung') past the bound. */
  async function send(method: string, route: string, body?: unknown): Promise<Outcome> {
    try {
      const res = await fetch(`${cluster.proxy.url}${route}`, {
        method,
        headers: { authorization: master, 'content-type': 'application/json', connection: 'close' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(BOUND_MS),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as { error?: string }) : {},
        retryAfter: res.headers.get('retry-after'),
      };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { status: 'hung' };
      throw err;
    }
  }

  /** Writes entities in `lanes` loops until `done()`; returns every outcome and the acknowledged ids. */
  async function writeWhile(collection: string, lanes: number, done: () => boolean) {
    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = 0; !done(); i++) {
          const id = `l${lane}-${i}`;
          const outcome = await send('POST', `/appdata/${APP.appKey}/${collection}`, { _id: id });
          outcomes.push(outcome);
          if (outcome.status === 201) acknowledged.push(id);
          // A client told to come back does not hammer.
          if (outcome.status === 503) await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }),
    );
    return { outcomes, acknowledged };
  }

  /** Only successes and 503 KinveyInternalErrorRetry with Retry-After; nothing hung. */
  function expectOnlySuccessOr503(outcomes: Outcome[]): void {
    const odd = outcomes.filter(
      (o) =>
        !(typeof o.status === 'number' && o.status < 300) &&
        !(o.status === 503 && o.body?.error === 'KinveyInternalErrorRetry' && o.retryAfter),
    );
    expect(odd).toEqual([]);
  }

  async function expectAllFound(collection: string, ids: string[]): Promise<void> {
    const res = await send('GET', `/appdata/${APP.appKey}/${collection}?fields=_id&limit=10000`);
    expect(res.status).toBe(200);
    const found = new Set((res.body as unknown as Array<{ _id: string }>).map((d) => d._id));
    expect(ids.filter((id) => !found.has(id))).toEqual([]);
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function faultWindow(collection: string, fault: () => Promise<void>, heal: () => Promise<void>) {
    let phase: 'before' | 'fault' | 'after' | 'done' = 'before';
    const run = writeWhile(collection, 3, () => phase === 'done');
    await sleep(300);
    phase = 'fault';
    await fault();
    await sleep(FAULT_MS);
    await heal();
    phase = 'after';
    // Recovery without a restart: writes succeed again within the bound.
    const deadline = Date.now() + BOUND_MS + 3000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      const probe = await send('POST', `/appdata/${APP.appKey}/${collection}`, {});
      recovered = probe.status === 201;
      if (!recovered) await sleep(200);
    }
    phase = 'done';
    const result = await run;
    expect(recovered).toBe(true);
    expectOnlySuccessOr503(result.outcomes);
    await expectAllFound(collection, result.acknowledged);
    return result;
  }

  test('MongoDB stopped (SIGSTOP) then resumed: 503 or success within the bound, nothing lost, recovery', async () => {
    const { outcomes } = await faultWindow(
      'sigstop',
      async () => ferret.signal('SIGSTOP'),
      async () => ferret.signal('SIGCONT'),
    );
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
  }, 60_000);

  test('MongoDB killed (SIGKILL) and started again on its data: nothing acknowledged is lost', async () => {
    const { outcomes } = await faultWindow(
      'sigkill',
      async () => ferret.signal('SIGKILL'),
      async () => ferret.restart(),
    );
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
  }, 60_000);

  test('the connection to MongoDB blackholed (timeout toxic), then reset (reset_peer): 503 within the bound, recovery', async () => {
    await faultWindow(
      'blackhole',
      async () => toxi.addToxic('mongo', 'blackhole', { type: 'timeout', attributes: { timeout: 0 } }),
      async () => toxi.removeToxic('mongo', 'blackhole'),
    );
    await faultWindow(
      'reset',
      async () => toxi.addToxic('mongo', 'reset', { type: 'reset_peer', attributes: { timeout: 0 } }),
      async () => toxi.removeToxic('mongo', 'reset'),
    );
  }, 60_000);

  test('a slow MongoDB (latency, low bandwidth) gets more concurrent requests than allowed in flight: the excess is refused with 503 at once', async () => {
    await toxi.addToxic('mongo', 'slow', { type: 'latency', attributes: { latency: 300, jitter: 0 } });
    await toxi.addToxic('mongo', 'narrow', { type: 'bandwidth', attributes: { rate: 1000 } });
    try {
      const outcomes = await Promise.all(
        // 50 per instance against a cap of 16: 20 per instance left the cap unmet on a loaded
        // machine, where the requests arrived more slowly than the slowed calls ended.
        Array.from({ length: 100 }, (_, i) => send('POST', `/appdata/${APP.appKey}/flood`, { _id: `f${i}` })),
      );
      expectOnlySuccessOr503(outcomes);
      const refused = outcomes.filter((o) => o.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o.status === 201).length).toBeGreaterThan(0);
      await toxi.removeToxic('mongo', 'slow');
      await toxi.removeToxic('mongo', 'narrow');
      await expectAllFound(
        'flood',
        outcomes.flatMap((o, i) => (o.status === 201 ? [`f${i}`] : [])),
      );
    } finally {
      await toxi.removeToxic('mongo', 'slow').catch(() => undefined);
      await toxi.removeToxic('mongo', 'narrow').catch(() => undefined);
    }
  }, 60_000);

  test('the bucket blackholed or stopped: uploads answer 503 within the bound, entities with file references still read', async () => {
    const file = await send('POST', `/blob/${APP.appKey}`, { _filename: 'a.txt', mimeType: 'text/plain', size: 1 });
    expect(file.status).toBe(201);
    const fileId = (file.body as unknown as { _id: string })._id;
    expect(
      (await send('POST', `/appdata/${APP.appKey}/refs`, { _id: 'r', f: { _type: 'KinveyFile', _id: fileId } })).status,
    ).toBe(201);
    for (const [fault, heal] of [
      [
        () => toxi.addToxic('gcs', 'blackhole', { type: 'timeout', attributes: { timeout: 0 } }),
        () => toxi.removeToxic('gcs', 'blackhole'),
      ],
      [async () => gcs.signal('SIGSTOP'), async () => gcs.signal('SIGCONT')],
    ] as const) {
      await fault();
      try {
        const upload = await send('POST', `/blob/${APP.appKey}`, {
          _filename: 'b.txt',
          mimeType: 'text/plain',
          size: 1,
        });
        expect(upload).toMatchObject({ status: 503, body: { error: 'KinveyInternalErrorRetry' } });
        // The balancer's check names the failed dependency, and only that.
        const ready = await fetch(`${cluster.instances[0]!.baseUrl}/readyz`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toEqual({ status: 'unavailable', documents: 'ok', objects: 'failed' });
        const read = await send('GET', `/appdata/${APP.appKey}/refs/r`);
        expect(read.status).toBe(200);
        expect((read.body as unknown as { f: { _downloadURL?: string } }).f._downloadURL).toEqual(expect.any(String));
      } finally {
        await heal();
      }
      const again = await send('POST', `/blob/${APP.appKey}`, { _filename: 'c.txt', mimeType: 'text/plain', size: 1 });
      expect(again.status).toBe(201);
    }
  }, 60_000);
});
