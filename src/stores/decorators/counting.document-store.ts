import type { DocumentStore } from '../../domain/ports';

type Operation = Exclude<keyof DocumentStore, 'close' | 'ensureIndex' | 'sharedState'>;
const OPERATIONS: readonly Operation[] = [
  'insert',
  'upsert',
  'putMany',
  'replace',
  'setFields',
  'find',
  'findByIds',
  'scan',
  'count',
  'group',
  'deleteById',
  'deleteMany',
  'listCollections',
];

/**
 * The same store, reporting every data call (one round trip on MongoDB) to `count` before making
 * it. `ensureIndex` is passed through uncounted: adapters remember created indexes, so repeated
 * calls reach no server.
 * The count happens synchronously in the caller's async context, so it is attributed to the
 * request that made the call.
 */
export function countingDocumentStore(store: DocumentStore, count: (operation: Operation) => void): DocumentStore {
  const counted = {
    close: () => store.close(),
    ensureIndex: (scope, index) => store.ensureIndex(scope, index),
  } as DocumentStore;
  for (const operation of OPERATIONS) {
    const original = store[operation].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (counted as unknown as Record<string, unknown>)[operation] = (...args: unknown[]) => {
      count(operation);
      return original(...args);
    };
  }
  return counted;
}
