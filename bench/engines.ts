/**
 * Embedded engine candidates for kinbase's document store (issue 16), side by side in one run:
 * better-sqlite3 12.x (two document-table layouts) and lmdb 3.x, each laid out as kinbase would
 * use it (bench/engines/*.candidate.ts): documents keyed by (collection, _id) as JSON text of
 * ~1 KB, plus an index table of (collection, field, order-preserving key bytes, _id) with 3 rows
 * per document (a declared field, `_kmd.lmt`, `_acl.creator`), written in the same transaction.
 *
 * Per candidate, in a child process of its own on a fresh directory (bench/engines/measure.ts):
 *   insert N documents in transactions of 500; then single-document transactions, committed
 *   safe-from-a-process-crash (SQLite WAL + synchronous=NORMAL; lmdb's default async commit with
 *   overlapping sync) and fsync'd per commit (SQLite synchronous=FULL; lmdb transactionSync);
 *   GET by id p50/p99 (20,000 random ids); equality lookup on the index returning ~10 documents;
 *   an ordered range scan with limit 20; a full scan parsing every document; disk and RSS after.
 * Every read parses the JSON of the documents it returns.
 *
 * Usage: npm run bench:engines [-- --n 100000] [-- --engines sqlite,lmdb]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CANDIDATES, type CandidateName, type EngineResult } from './engines/measure';

const MEASURE_SCRIPT = path.join(__dirname, 'engines/measure.js');

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function runCandidate(name: CandidateName, dir: string, n: number): Promise<EngineResult> {
  const child = spawn(process.execPath, [MEASURE_SCRIPT, name, dir, String(n)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as EngineResult) : reject(new Error(`${name}: measure exited with ${code}`)),
    );
  });
}

interface Row {
  label: string;
  value: (r: EngineResult) => number;
  format: (v: number) => string;
  /** Whether a larger value is better (throughput) or worse (latency, bytes). */
  higherIsBetter: boolean;
}

const perSec = (v: number) => (Number.isNaN(v) ? 'n/a' : `${Math.round(v).toLocaleString('en-US')}/s`);
const ms = (v: number) => `${v.toFixed(3)} ms`;
const mb = (v: number) => `${(v / 1024 / 1024).toFixed(0)} MB`;

const ROWS: Row[] = [
  { label: 'insert, transactions of 500', value: (r) => r.batchInsertPerSec, format: perSec, higherIsBetter: true },
  {
    label: 'insert, 1 doc/txn, process-crash safe (1)',
    value: (r) => r.singleProcessPerSec,
    format: perSec,
    higherIsBetter: true,
  },
  {
    label: 'insert, 1 doc/txn, fsync per commit (2)',
    value: (r) => r.singleFsyncPerSec,
    format: perSec,
    higherIsBetter: true,
  },
  {
    label: 'insert, 1 doc/txn, lmdb-js async (3)',
    value: (r) => r.singleAsyncPerSec ?? NaN,
    format: perSec,
    higherIsBetter: true,
  },
  { label: 'GET by id p50', value: (r) => r.getP50, format: ms, higherIsBetter: false },
  { label: 'GET by id p99', value: (r) => r.getP99, format: ms, higherIsBetter: false },
  { label: 'index equality (~10 docs) p50', value: (r) => r.equalP50, format: ms, higherIsBetter: false },
  { label: 'index range, ordered, limit 20 p50', value: (r) => r.rangeP50, format: ms, higherIsBetter: false },
  {
    label: 'full scan, parse every doc',
    value: (r) => r.scanMs,
    format: (v) => `${v.toFixed(0)} ms`,
    higherIsBetter: false,
  },
  { label: 'on disk', value: (r) => r.diskBytes, format: mb, higherIsBetter: false },
  { label: 'RSS after', value: (r) => r.rssBytes, format: mb, higherIsBetter: false },
];

function report(results: EngineResult[]): string {
  const [base, ...others] = results;
  if (!base) return 'no results';
  const n = base.n.toLocaleString('en-US');
  const width = 18;
  const header = [
    'measure'.padEnd(44),
    ...results.map((r) => r.name.padStart(width)),
    ...others.map((r) => `${r.name} vs ${base.name}`.padStart(width + 10)),
  ].join('');
  const lines = [
    `embedded engine candidates: ${n} documents of ~1 KB JSON, 3 index rows each (node ${process.version}, ${process.platform}/${process.arch})`,
    header,
  ];
  for (const row of ROWS) {
    const ratio = (r: EngineResult) => {
      const a = row.value(r);
      const b = row.value(base);
      const x = row.higherIsBetter ? a / b : b / a;
      return (Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`).padStart(width + 10);
    };
    lines.push(
      [
        row.label.padEnd(44),
        ...results.map((r) => row.format(row.value(r)).padStart(width)),
        ...others.map(ratio),
      ].join(''),
    );
  }
  lines.push(
    `ratio: how many times better than ${base.name} (>1: better, <1: worse); equality lookups returned ${base.equalRows.toFixed(1)} docs on average`,
    '(1) SQLite WAL + synchronous=NORMAL; lmdb noSync environment (a system crash can corrupt it, LMDB documents)',
    '(2) SQLite WAL + synchronous=FULL; lmdb transactionSync, default flags (flushed before returning)',
    '(3) lmdb-js default: await root.transaction(...) per document (commitDelay 0, overlappingSync; still fsyncs)',
    'single-document rows: up to 5,000 commits or 8 s each, into a collection of their own',
    `command: npm run bench:engines -- --n ${base.n}`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const n = Number(option('n') ?? 100_000);
  const names = (option('engines') ?? CANDIDATES.join(',')).split(',') as CandidateName[];
  for (const name of names)
    if (!CANDIDATES.includes(name)) throw new Error(`unknown engine ${name}; candidates: ${CANDIDATES.join(', ')}`);
  if (!Number.isInteger(n) || n < 1000) throw new Error('--n must be an integer >= 1000');
  const work = await mkdtemp(path.join(tmpdir(), 'kinbase-engines-'));
  const results: EngineResult[] = [];
  try {
    for (const name of names) {
      process.stderr.write(`${name}: ${n} documents\n`);
      const dir = await mkdtemp(path.join(work, `${name}-`));
      results.push(await runCandidate(name, dir, n));
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(`${report(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
