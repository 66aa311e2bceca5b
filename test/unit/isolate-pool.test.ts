/**
 * How an app's isolate pool shares its isolates between callers: who gets a freed isolate, how
 * long and how many calls may wait, what a disposed isolate's replacement does. Stand-in workers
 * (the pool only reads `alive` and calls `dispose`); the real isolates are tested in
 * test/security/bl-sandbox.security.test.ts and bl-fairness.security.test.ts.
 */
import { IsolatePool, type IsolatePoolOptions } from '../../src/business-logic/sandbox/isolate-pool';
import type { IsolateWorker } from '../../src/business-logic/sandbox/isolate-worker';

interface StandIn {
  id: number;
  alive: boolean;
  dispose: () => void;
}

function poolOf(options: Partial<IsolatePoolOptions> = {}): { pool: IsolatePool; created: StandIn[] } {
  const created: StandIn[] = [];
  const create = async (): Promise<IsolateWorker> => {
    const worker: StandIn = {
      id: created.length + 1,
      alive: true,
      dispose: () => {
        worker.alive = false;
      },
    };
    created.push(worker);
    return worker as unknown as IsolateWorker;
  };
  const pool = new IsolatePool(create, { size: 2, queuePerCaller: 16, waitMs: 60_000, ...options });
  pools.push(pool);
  return { pool, created };
}

const pools: IsolatePool[] = [];

/** Starts acquires in order and records the order in which they are served. */
function served(pool: IsolatePool, callers: string[]): { order: string[]; calls: Array<Promise<IsolateWorker>> } {
  const order: string[] = [];
  const calls = callers.map((caller, i) =>
    pool.acquire(caller, `call ${i}`).then((worker) => {
      order.push(`${caller}#${i}`);
      return worker;
    }),
  );
  // Calls still waiting when the test ends are refused by afterEach's close().
  for (const call of calls) call.catch(() => undefined);
  return { order, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  for (const pool of pools.splice(0)) pool.close();
  jest.useRealTimers();
});

describe('isolate pool fairness', () => {
  test('a freed isolate goes to the waiting caller holding the fewest, ahead of a flood queued earlier', async () => {
    const { pool } = poolOf({ size: 3 });
    const [a, b, spare] = await Promise.all([
      pool.acquire('flood', 'f0'),
      pool.acquire('flood', 'f1'),
      pool.acquire('carol', 'c0'),
    ]);
    const { order, calls } = served(pool, ['flood', 'flood', 'flood', 'alice', 'bob']);
    pool.release(a);
    await settle();
    expect(order).toEqual(['alice#3']);
    // The flood now holds one, as alice; bob holds none and goes first; then the flood's oldest call.
    pool.release(spare);
    await settle();
    expect(order).toEqual(['alice#3', 'bob#4']);
    pool.release(b);
    await settle();
    expect(order).toEqual(['alice#3', 'bob#4', 'flood#0']);
    await Promise.all(calls.slice(3));
    expect(pool.stats()).toEqual({ held: { flood: 1, alice: 1, bob: 1 }, waiting: { flood: 2 } });
  });

  test('callers holding as many isolates are served longest-waiting first', async () => {
    const { pool } = poolOf({ size: 1 });
    let current = await pool.acquire('x', 'x0');
    const { order, calls } = served(pool, ['alice', 'bob', 'alice', 'bob']);
    for (let round = 0; round < 4; round += 1) {
      pool.release(current);
      await settle();
      // The call served last releases next.
      current = await (calls[Number(order.at(-1)?.split('#')[1])] as Promise<IsolateWorker>);
    }
    expect(order).toEqual(['alice#0', 'bob#1', 'alice#2', 'bob#3']);
  });

  test('one caller holds at most all isolates but one: another caller starts at once on the spare', async () => {
    const { pool } = poolOf({ size: 3 });
    const { order } = served(pool, ['solo', 'solo', 'solo']);
    await settle();
    expect(order).toEqual(['solo#0', 'solo#1']);
    expect(pool.stats()).toEqual({ held: { solo: 2 }, waiting: { solo: 1 } });
    await pool.acquire('alice', 'a0');
    expect(pool.stats()).toEqual({ held: { solo: 2, alice: 1 }, waiting: { solo: 1 } });
  });

  test('a caller at its share is not served by an idle isolate; its own release serves its next call', async () => {
    const { pool } = poolOf({ size: 2 });
    const first = await pool.acquire('solo', 's0');
    const { order } = served(pool, ['solo']);
    await settle();
    expect(order).toEqual([]);
    pool.release(first);
    await settle();
    expect(order).toEqual(['solo#0']);
  });

  test("a pool of one isolate is one caller's whole share", async () => {
    const { pool } = poolOf({ size: 1 });
    await pool.acquire('solo', 's0');
    expect(pool.stats()).toEqual({ held: { solo: 1 }, waiting: {} });
  });

  test('a disposed isolate is replaced for the caller it would have gone to', async () => {
    const { pool, created } = poolOf({ size: 3 });
    const [dead] = await Promise.all([
      pool.acquire('flood', 'f0'),
      pool.acquire('flood', 'f1'),
      pool.acquire('carol', 'c0'),
    ]);
    const { order } = served(pool, ['flood', 'alice']);
    dead.dispose();
    pool.release(dead);
    await settle();
    expect(order).toEqual(['alice#1']);
    expect(created.map((w) => w.alive)).toEqual([false, true, true, true]);
  });
});

describe('isolate pool bounds', () => {
  test("past queuePerCaller waiting calls, a caller's further calls are refused at once; other callers still queue", async () => {
    const { pool } = poolOf({ size: 1, queuePerCaller: 2 });
    await pool.acquire('flood', 'f0');
    const waiting = [pool.acquire('flood', 'f1'), pool.acquire('flood', 'f2')];
    await expect(pool.acquire('flood', 'f3')).rejects.toMatchObject({
      status: 550,
      error: 'BLTimeoutError',
      debug: expect.stringContaining('2 calls of the same caller are already waiting'),
    });
    const other = pool.acquire('alice', 'a0').catch((err: unknown) => err);
    expect(pool.stats()).toEqual({ held: { flood: 1 }, waiting: { flood: 2, alice: 1 } });
    pool.close();
    await expect(Promise.all(waiting)).rejects.toMatchObject({ error: 'BLInternalError' });
    await expect(other).resolves.toMatchObject({ error: 'BLInternalError' });
  });

  test('a call that waits past waitMs fails with BLTimeoutError and leaves the queue', async () => {
    jest.useFakeTimers();
    const { pool } = poolOf({ size: 1, waitMs: 500 });
    await pool.acquire('flood', 'f0');
    const late = pool.acquire('alice', 'a0');
    jest.advanceTimersByTime(500);
    await expect(late).rejects.toMatchObject({
      error: 'BLTimeoutError',
      debug: 'a0 waited 500 ms for a free sandbox.',
    });
    expect(pool.stats()).toEqual({ held: { flood: 1 }, waiting: {} });
  });

  test('close() refuses waiting calls and every later one, and disposes every isolate', async () => {
    const { pool, created } = poolOf({ size: 1 });
    await pool.acquire('flood', 'f0');
    const waiting = pool.acquire('alice', 'a0');
    pool.close();
    await expect(waiting).rejects.toMatchObject({ error: 'BLInternalError' });
    await expect(pool.acquire('bob', 'b0')).rejects.toMatchObject({ error: 'BLInternalError' });
    expect(created.every((w) => !w.alive)).toBe(true);
  });
});
