/**
 * Child process of bench/engines.ts: measures one candidate on a fresh directory and prints one
 * JSON line (EngineResult). One process per candidate, so RSS and caches are its own.
 *
 * argv: <sqlite|sqlite-wr|lmdb> <dir> <n>
 */
import type { Candidate, Commit } from './candidate';
import { openLmdb } from './lmdb.candidate';
import { openSqlite } from './sqlite.candidate';
import { DOCS_PER_CATEGORY, makeDoc, orderedKey, quantile, sample, type BenchDoc } from './workload';
import { diskBytes } from '../disk-bytes';

export const CANDIDATES = ['sqlite', 'sqlite-wr', 'lmdb'] as const;
export type CandidateName = (typeof CANDIDATES)[number];

export interface EngineResult {
  name: string;
  n: number;
  batchInsertPerSec: number;
  singleProcessPerSec: number;
  singleFsyncPerSec: number;
  /** null for an engine without this commit mode. */
  singleAsyncPerSec: number | null;
  getP50: number;
  getP99: number;
  equalP50: number;
  equalRows: number;
  rangeP50: number;
  scanMs: number;
  diskBytes: number;
  rssBytes: number;
}

const BATCH = 500;
const COLLECTION = 'things';
/** Single-document writes per commit mode: bounded by count and time, whichever ends first. */
const SINGLE_MAX = 5000;
const SINGLE_MS = 8000;

function openCandidate(name: CandidateName, dir: string): Candidate {
  switch (name) {
    case 'sqlite':
      return openSqlite(dir, 'rowid');
    case 'sqlite-wr':
      return openSqlite(dir, 'without-rowid');
    case 'lmdb':
      return openLmdb(dir);
  }
}

async function singleWrites(engine: Candidate, commit: Commit, n: number): Promise<number | null> {
  if (!engine.commits.includes(commit)) return null;
  const started = performance.now();
  let written = 0;
  while (written < SINGLE_MAX && performance.now() - started < SINGLE_MS) {
    await engine.writeOne(`single-${commit}`, makeDoc(written, n), commit);
    written++;
  }
  return written / ((performance.now() - started) / 1000);
}

export async function measure(name: CandidateName, dir: string, n: number): Promise<EngineResult> {
  const engine = openCandidate(name, dir);
  const ids: string[] = [];
  const lmts: string[] = [];
  let batchMs = 0;
  for (let i = 0; i < n; i += BATCH) {
    const batch: BenchDoc[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(makeDoc(j, n));
    for (const doc of batch) {
      ids.push(doc._id);
      lmts.push(doc._kmd.lmt);
    }
    const started = performance.now();
    await engine.writeBatch(COLLECTION, batch);
    batchMs += performance.now() - started;
  }
  const singleProcessPerSec = (await singleWrites(engine, 'process', n)) ?? NaN;
  const singleFsyncPerSec = (await singleWrites(engine, 'fsync', n)) ?? NaN;
  const singleAsyncPerSec = await singleWrites(engine, 'async', n);
  await engine.settle();

  const pick = (list: readonly string[], i: number) => list[(i * 7_368_787) % list.length] as string;
  const categories = Math.max(1, Math.floor(n / DOCS_PER_CATEGORY));
  await sample(2000, (i) => engine.get(COLLECTION, pick(ids, i))); // warm-up
  const get = await sample(20_000, (i) => {
    if (engine.get(COLLECTION, pick(ids, i)) === undefined) throw new Error(`${name}: a stored id was not found`);
  });
  let equalRows = 0;
  const equal = await sample(
    5000,
    (i) =>
      (equalRows += engine.findEqual(COLLECTION, 'category', orderedKey(`category-${(i * 7919) % categories}`)).length),
  );
  const range = await sample(5000, (i) => {
    if (engine.findFrom(COLLECTION, '_kmd.lmt', orderedKey(pick(lmts, i)), 20).length === 0)
      throw new Error(`${name}: empty range`);
  });
  const scanStarted = performance.now();
  const scanned = engine.scan(COLLECTION);
  const scanMs = performance.now() - scanStarted;
  if (scanned !== n) throw new Error(`${name}: scanned ${scanned} of ${n} documents`);
  const rssBytes = process.memoryUsage().rss;
  await engine.close();
  return {
    name: engine.name,
    n,
    batchInsertPerSec: n / (batchMs / 1000),
    singleProcessPerSec,
    singleFsyncPerSec,
    singleAsyncPerSec,
    getP50: quantile(get, 0.5),
    getP99: quantile(get, 0.99),
    equalP50: quantile(equal, 0.5),
    equalRows: equalRows / 5000,
    rangeP50: quantile(range, 0.5),
    scanMs,
    diskBytes: diskBytes(dir),
    rssBytes,
  };
}

if (require.main === module) {
  const [name, dir, n] = process.argv.slice(2);
  if (!CANDIDATES.includes(name as CandidateName) || !dir || !Number(n))
    throw new Error(`usage: measure.js <${CANDIDATES.join('|')}> <dir> <n>`);
  measure(name as CandidateName, dir, Number(n)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
