/**
 * The MongoDB store's driver errors as a client sees them: a server that refuses a query for its
 * memory answers 400 ResultSetSizeExceeded (like kinbase's own answer budget), never a 500.
 */
import { MongoServerError } from 'mongodb';
import { StoreError } from '../../src/domain/ports';
import { toKinveyError } from '../../src/http/middleware/errors';
import { translate } from '../../src/stores/documents/mongodb/mongo-errors';

const refusedWith = (code: number, errmsg: string) => () =>
  Promise.reject(new MongoServerError({ ok: 0, code, errmsg, codeName: 'X' }));

test.each([
  [292, 'PlanExecutor error during aggregation :: caused by :: Exceeded memory limit for $group'],
  [16819, 'Sort exceeded memory limit of 104857600 bytes'],
  [16945, "Exceeded memory limit for $group, but didn't allow external sort"],
])(
  'a query the server refuses for its memory (code %i) is too-large, answered 400 ResultSetSizeExceeded',
  async (code, errmsg) => {
    const err = await translate(refusedWith(code, errmsg)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ kind: 'too-large' });
    const { error, unexpected } = toKinveyError(err);
    expect(unexpected).toBe(false);
    expect(error).toMatchObject({ error: 'ResultSetSizeExceeded', status: 400 });
  },
);

test('a server error kinbase does not know stays unexpected (500)', async () => {
  const err = await translate(refusedWith(8000, 'something else')).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MongoServerError);
  expect(toKinveyError(err).unexpected).toBe(true);
});

test('a connection pool cleared under a request (a hung server missed its heartbeat) is unavailable, answered 503, not 500', async () => {
  // What the driver throws into requests in flight when its monitor times out on a stopped server.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal class the driver does not export
  const { PoolClearedOnNetworkError } = require('mongodb/lib/cmap/errors') as {
    PoolClearedOnNetworkError: new (pool: { address: string }) => Error;
  };
  const cleared = new PoolClearedOnNetworkError({ address: '127.0.0.1:27017' });
  expect(cleared.name).toBe('PoolClearedOnNetworkError');
  const err = await translate(() => Promise.reject(cleared)).catch((e: unknown) => e);
  expect(err).toMatchObject({ kind: 'unavailable' });
  expect(toKinveyError(err).error).toMatchObject({ error: 'KinveyInternalErrorRetry', status: 503 });
});
