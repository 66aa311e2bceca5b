/**
 * The in-flight limit in front of the document store (runtime.ts wraps every store call in it):
 * it must pass every data call of the port through, and answer a call the store never finishes
 * by its deadline, so a hung database cannot hold a request past the documented bound.
 */
import type { DocumentStore } from '../../src/domain/ports';
import { StoreError } from '../../src/domain/ports';
import { InFlightLimit, limitDocumentStore } from '../../src/stores/decorators/in-flight-limit';

const scope = { appKey: 'kid_limit', collection: 'books' };

/** A store whose every method records its name and answers `answer()` (a plain object, like the adapters' own methods). */
function recordingStore(answer: () => Promise<unknown>): { store: DocumentStore; called: string[] } {
  const called: string[] = [];
  const store = new Proxy(
    {},
    {
      get: (_target, name) => {
        if (typeof name !== 'string' || name === 'then' || name === 'sharedState') return undefined;
        return (..._args: unknown[]) => {
          called.push(name);
          return answer();
        };
      },
    },
  ) as DocumentStore;
  return { store, called };
}

test('every data call of the port reaches the store through the limit (putMany and scan were once dropped)', async () => {
  const { store, called } = recordingStore(() => Promise.resolve([]));
  const limited = limitDocumentStore(store, new InFlightLimit('document store', 8));
  await limited.putMany(scope, []);
  await limited.scan(scope, null, 10);
  await limited.find(scope, {});
  expect(called).toEqual(['putMany', 'scan', 'find']);
});

test('a call the store never answers is answered 503 (unavailable) at the deadline, and keeps its place until it ends', async () => {
  let finish: (value: unknown) => void = () => undefined;
  const { store } = recordingStore(() => new Promise((resolve) => (finish = resolve)));
  const limit = new InFlightLimit('document store', 1);
  const limited = limitDocumentStore(store, limit, 50);
  const hung = limited.find(scope, {});
  await expect(hung).rejects.toThrow(StoreError);
  await expect(hung).rejects.toMatchObject({ kind: 'unavailable' });
  // The abandoned call still counts: the next one is refused at once instead of piling up.
  await expect(limited.count(scope, {})).rejects.toMatchObject({ kind: 'unavailable' });
  finish([]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(limit.current).toBe(0);
});
