import pino from 'pino';
import request from 'supertest';
import { EndpointScheduler, SCHEDULE_COLLECTION } from '../../src/business-logic/endpoints/scheduler';
import type { BusinessLogicConfig } from '../../src/business-logic/types';
import { StoreError, type DocumentStore } from '../../src/domain/ports';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

const T0 = new Date('2024-03-01T12:00:00.000Z').getTime();
const MINUTE = 60_000;

function businessLogicWith(
  schedules: Record<string, { start: Date; intervalSeconds: number | null }>,
): BusinessLogicConfig {
  const customEndpoints = Object.create(null) as Record<string, BusinessLogicConfig['customEndpoints'][string]>;
  for (const [name, schedule] of Object.entries(schedules)) {
    customEndpoints[name] = {
      function: { type: 'internal', code: 'function onRequest() {}', origin: `customEndpoints.${name}` },
      schedule,
    };
  }
  return { commonCode: [], collectionHooks: {}, customEndpoints, externalCollections: {}, flexServices: {} };
}

/** A logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  return {
    lines,
    logger: pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    ),
  };
}

describe.each(DOCUMENT_STORES)('scheduled endpoints on the %s document store', (kind: DocumentsKind) => {
  let t: TestApp;
  let now: number;
  const clock = () => new Date(now);
  const schedulers: EndpointScheduler[] = [];
  const silent = pino({ level: 'silent' });

  function scheduler(
    run: (appKey: string, endpoint: string, tick: Date) => Promise<void>,
    logger = silent,
    pollMs = 3_600_000,
    documents: DocumentStore = t.documents,
  ): EndpointScheduler {
    const s = new EndpointScheduler({ documents, clock, logger, run, pollMs });
    schedulers.push(s);
    return s;
  }

  beforeEach(async () => {
    t = await startTestApp({ documents: kind });
    now = T0 - MINUTE;
  });
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    await t.close();
  });

  test('two instances on one store run each tick exactly once in total, and missed ticks are not replayed', async () => {
    const runs: string[] = [];
    const apps = [
      { appKey: t.appKey, businessLogic: businessLogicWith({ report: { start: new Date(T0), intervalSeconds: 60 } }) },
    ];
    // Both instances try every tick: one insert wins, the other is refused as a duplicate.
    const inserts = { tried: 0, duplicate: 0 };
    const store = t.documents;
    const counting = new Proxy(store, {
      get: (target, key) =>
        key !== 'insert'
          ? (Reflect.get(target, key) as unknown)
          : async (...args: Parameters<DocumentStore['insert']>) => {
              inserts.tried += 1;
              try {
                await target.insert(...args);
              } catch (err) {
                if (err instanceof StoreError && err.kind === 'duplicate') inserts.duplicate += 1;
                throw err;
              }
            },
    });
    const a = scheduler(
      async (_app, endpoint, tick) => void runs.push(`a ${endpoint} ${tick.toISOString()}`),
      silent,
      undefined,
      counting,
    );
    const b = scheduler(
      async (_app, endpoint, tick) => void runs.push(`b ${endpoint} ${tick.toISOString()}`),
      silent,
      undefined,
      counting,
    );
    a.start(apps);
    b.start(apps);
    for (const at of [T0, T0 + 1000, T0 + MINUTE, T0 + MINUTE + 30_000, T0 + 2 * MINUTE, T0 + 10 * MINUTE + 5000]) {
      now = at;
      await Promise.all([a.checkNow(), b.checkNow()]);
    }
    const ticks = runs.map((r) => r.split(' ').slice(1).join(' '));
    expect(ticks).toEqual([0, 1, 2, 10].map((m) => `report ${new Date(T0 + m * MINUTE).toISOString()}`));
    expect(inserts).toEqual({ tried: 8, duplicate: 4 });
    const leases = await t.documents.find({ appKey: t.appKey, collection: SCHEDULE_COLLECTION }, {});
    expect(leases.map((l) => l._id).sort()).toEqual(
      [0, 1, 2, 10].map((m) => `report@${new Date(T0 + m * MINUTE).toISOString()}`),
    );
  });

  test('a tick whose holder dies mid-run is taken over by another instance once its lease is up, not before', async () => {
    const apps = [
      {
        appKey: t.appKey,
        businessLogic: businessLogicWith({ report: { start: new Date(T0), intervalSeconds: 3600 } }),
      },
    ];
    const runs: string[] = [];
    // Instance a claims the tick and never finishes it (its process died mid-run).
    let dead = false;
    const a = new EndpointScheduler({
      documents: t.documents,
      clock,
      logger: silent,
      pollMs: 3_600_000,
      leaseMs: 30_000,
      run: async () => {
        runs.push('a');
        await new Promise<void>((resolve) => {
          const poll = setInterval(() => dead && (clearInterval(poll), resolve()), 5);
        });
      },
    });
    const bWithLease = new EndpointScheduler({
      documents: t.documents,
      clock,
      logger: silent,
      pollMs: 3_600_000,
      leaseMs: 30_000,
      run: async () => void runs.push('b'),
    });
    schedulers.push(bWithLease);
    now = T0 + 1000;
    a.start(apps);
    while (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    bWithLease.start(apps);
    await bWithLease.checkNow();
    now = T0 + 29_000;
    await bWithLease.checkNow();
    expect(runs).toEqual(['a']);
    now = T0 + 32_000;
    await bWithLease.checkNow();
    expect(runs).toEqual(['a', 'b']);
    // Taken over once: later checks (and the dead holder's lease) do not run it again.
    now = T0 + 120_000;
    await bWithLease.checkNow();
    dead = true;
    await a.stop();
    expect(runs).toEqual(['a', 'b']);
    const [lease] = await t.documents.find({ appKey: t.appKey, collection: SCHEDULE_COLLECTION }, {});
    expect(lease).toMatchObject({ done: true });
  });

  test('a run-once schedule runs once, whichever instance sees it', async () => {
    const runs: string[] = [];
    const apps = [
      { appKey: t.appKey, businessLogic: businessLogicWith({ once: { start: new Date(T0), intervalSeconds: null } }) },
    ];
    const a = scheduler(async (_app, endpoint) => void runs.push(endpoint));
    const b = scheduler(async (_app, endpoint) => void runs.push(endpoint));
    a.start(apps);
    b.start(apps);
    for (const at of [T0 - 1, T0, T0 + MINUTE, T0 + 24 * 60 * MINUTE]) {
      now = at;
      await Promise.all([a.checkNow(), b.checkNow()]);
    }
    // A fresh instance (a restart) finds the lease and does not run it again.
    const c = scheduler(async (_app, endpoint) => void runs.push(endpoint));
    c.start(apps);
    await c.checkNow();
    expect(runs).toEqual(['once']);
  });

  test('a throwing run is logged and the next tick still runs', async () => {
    const { lines, logger } = capturingLogger();
    const ticks: string[] = [];
    const s = scheduler(async (_app, _endpoint, tick) => {
      ticks.push(tick.toISOString());
      if (ticks.length === 1) throw new Error('endpoint exploded');
    }, logger);
    s.start([
      { appKey: t.appKey, businessLogic: businessLogicWith({ flaky: { start: new Date(T0), intervalSeconds: 60 } }) },
    ]);
    now = T0;
    await s.checkNow();
    now = T0 + MINUTE;
    await s.checkNow();
    expect(ticks).toEqual([new Date(T0).toISOString(), new Date(T0 + MINUTE).toISOString()]);
    expect(lines.filter((l) => l.msg === 'scheduled endpoint failed')).toEqual([
      expect.objectContaining({
        appKey: t.appKey,
        endpoint: 'flaky',
        tick: new Date(T0).toISOString(),
        err: expect.objectContaining({ message: 'endpoint exploded' }),
      }),
    ]);
  });

  test('the timer finds a due tick by itself', async () => {
    let ran!: (tick: Date) => void;
    const ranAt = new Promise<Date>((resolve) => (ran = resolve));
    const s = scheduler(async (_app, _endpoint, tick) => ran(tick), silent, 5);
    s.start([
      { appKey: t.appKey, businessLogic: businessLogicWith({ tick: { start: new Date(T0), intervalSeconds: 3600 } }) },
    ]);
    now = T0 + 5000;
    expect(await ranAt).toEqual(new Date(T0));
  });

  test('stop() clears its unref()ed timer and waits for the run in progress', async () => {
    const setSpy = jest.spyOn(global, 'setInterval');
    const clearSpy = jest.spyOn(global, 'clearInterval');
    try {
      let started!: () => void;
      const runStarted = new Promise<void>((resolve) => (started = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const s = scheduler(async () => {
        started();
        await released;
      });
      now = T0;
      s.start([
        { appKey: t.appKey, businessLogic: businessLogicWith({ slow: { start: new Date(T0), intervalSeconds: 60 } }) },
      ]);
      const timer = setSpy.mock.results.at(-1)?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      await runStarted;
      let stopped = false;
      const stopping = s.stop().then(() => (stopped = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false);
      release();
      await stopping;
      expect(clearSpy).toHaveBeenCalledWith(timer);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
  });

  test('leases of ticks that can no longer run are removed; current ones are kept', async () => {
    const scope = { appKey: t.appKey, collection: SCHEDULE_COLLECTION };
    await t.documents.insert(scope, {
      _id: 'report@2024-02-01T12:00:00.000Z',
      endpoint: 'report',
      tick: '2024-02-01T12:00:00.000Z',
    });
    const s = scheduler(async () => {});
    now = T0;
    s.start([
      { appKey: t.appKey, businessLogic: businessLogicWith({ report: { start: new Date(T0), intervalSeconds: 60 } }) },
    ]);
    await s.checkNow();
    expect((await t.documents.find(scope, {})).map((l) => l._id)).toEqual([`report@${new Date(T0).toISOString()}`]);
  });

  test('clients cannot reach the lease collection through /appdata, not even with the master secret', async () => {
    await request(t.app)
      .get(`/appdata/${t.appKey}/${SCHEDULE_COLLECTION}`)
      .set('Authorization', t.masterAuth)
      .expect(403);
    await request(t.app)
      .post(`/appdata/${t.appKey}/${SCHEDULE_COLLECTION}`)
      .set('Authorization', t.masterAuth)
      .send({ _id: 'report@2030-01-01T00:00:00.000Z' })
      .expect(403);
  });
});
