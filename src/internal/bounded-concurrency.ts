/**
 * Bounded fan-out for per-item work that holds an OS resource (a file handle, a socket): one
 * request with thousands of items must not open thousands of files at once and starve the process.
 */

/** How many object-store checks one request runs at once. */
export const STORAGE_CONCURRENCY = 16;

/**
 * Runs `work` on every item with at most `limit` calls in flight; resolves with the results in
 * input order. On the first rejection no new call starts and the returned promise rejects with it
 * (calls already running finish on their own).
 */
export async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  return results;
}
