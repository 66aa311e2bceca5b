/**
 * How the MongoDB document store's driver errors become the port's StoreError, in one place.
 */
import { MongoError, MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { StoreError } from '../../../domain/ports';

const UNAVAILABLE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
  // The write may not have reached a majority: not acknowledged, so the client is told to retry.
  'MongoWriteConcernError',
]);

const QUERY_REJECTED = new Set([2, 9, 238]);

/**
 * QueryExceededMemoryLimitNoDiskUseAllowed (292, MongoDB 4.4 on), and the codes older servers
 * used for the same refusal: a sort (16819) or a $group (16945) over their memory limit.
 */
const MEMORY_LIMIT_EXCEEDED = new Set([292, 16819, 16945]);

/**
 * Runs a driver call and translates its errors at the boundary into StoreError: duplicates,
 * unreachable servers, queries the server refused or gave up on, answers too large for its memory.
 * Any other error is rethrown as it is (a 500: a bug or an unexpected server).
 */
export async function translate<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof MongoError) {
      if (err.code === 11000 || err.code === 11001) throw new StoreError('duplicate', err.message, { cause: err });
      // FerretDB (SQLite handler) reports unique violations of updates as InternalError (1) with
      // SQLite's message instead of 11000; it is still a duplicate to our callers.
      if (err.code === 1 && /UNIQUE constraint failed/.test(err.message))
        throw new StoreError('duplicate', err.message, { cause: err });
      // By class as well as by name: the driver's subclasses have names of their own (a pool
      // cleared under a request by a timed-out heartbeat is a PoolClearedOnNetworkError).
      if (
        err instanceof MongoNetworkError ||
        err instanceof MongoServerSelectionError ||
        UNAVAILABLE_ERRORS.has(err.name)
      )
        throw new StoreError('unavailable', err.message, { cause: err });
      // The server refused the query itself (BadValue, FailedToParse, NotImplemented): FerretDB
      // lacks a few operator forms MongoDB has. The client gets a 400 naming the problem, not a 500.
      if (typeof err.code === 'number' && QUERY_REJECTED.has(err.code))
        throw new StoreError('invalid', err.message, { cause: err });
      // MaxTimeMSExpired: the query outlasted QUERY_TIME_LIMIT_MS.
      if (err.code === 50)
        throw new StoreError('invalid', 'the query took longer than this server allows; narrow it', { cause: err });
      // The server ran out of its memory for one stage ($group, or a sort without an index) and
      // kinbase never allows spilling to disk: the client asked for too much, as when the answer
      // passes kinbase's own budget, so the same 400 ResultSetSizeExceeded.
      if (typeof err.code === 'number' && MEMORY_LIMIT_EXCEEDED.has(err.code))
        throw new StoreError('too-large', 'the query needs more memory than this server allows; narrow it', {
          cause: err,
        });
    }
    throw err;
  }
}
