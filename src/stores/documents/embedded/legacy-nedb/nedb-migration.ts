/**
 * Moves a data dir written by the old embedded store (one @seald-io/nedb datafile per app and
 * collection, `<documents>/<appSeg>/<collectionSeg>.db`) into the current document store, once.
 * nedb is not needed: its files are JSON lines read here with nedb's own load semantics
 * (lib/persistence.js treatRawStreamAsync, lib/model.js deserialize), streamed, so memory stays
 * bounded by one batch whatever the file size. A file is moved to `.nedb-migrated/` (kept, never
 * deleted) only once all of it is in the store; a crash before that re-runs it on the next start,
 * which is harmless because every step is an upsert or delete by `_id`.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  StoreError,
  type CollectionScope,
  type Filter,
  type IndexSpec,
  type StoredDocument,
} from '../../../../domain/ports';
import { decodeSegment } from './nedb-names';

/** What the migration needs from the store it fills. */
export interface NedbMigrationTarget {
  /** Upserts the whole batch (replacing by `_id`) in one transaction. */
  importDocuments(scope: CollectionScope, docs: StoredDocument[]): Promise<void>;
  deleteById(scope: CollectionScope, id: string): Promise<boolean>;
  /** Throws StoreError('duplicate') when a unique index cannot be built over the data. */
  ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void>;
  count(scope: CollectionScope, filter: Filter): Promise<number>;
}

/** One console line; `warn` for what an operator should look at. */
export type MigrationLog = (line: string, level?: 'info' | 'warn') => void;

export interface NedbMigrationOptions {
  /** Documents (and deletions) applied per store call. */
  batchSize?: number;
  /** A progress line after this many lines of one file... */
  progressEveryLines?: number;
  /** ...or after this long, whichever comes first. */
  progressEveryMs?: number;
}

/** Where migrated originals go, under the documents dir (a dot-dir: never scanned again). */
export const MIGRATED_DIR = '.nedb-migrated';

/** nedb refuses to load a datafile with more corrupt lines than this (its corruptAlertThreshold default). */
const CORRUPT_ALERT_THRESHOLD = 0.1;

interface NedbFile {
  scope: CollectionScope;
  /** `<appSeg>/<collectionSeg>.db`, relative to the documents dir. */
  relative: string;
  /** nedb's interrupted-compaction temp file, if one was left next to the datafile. */
  hasTemp: boolean;
  /** Only the temp file exists: nedb would have renamed it into place, and so do we. */
  tempOnly: boolean;
}

/**
 * Imports every nedb datafile under `documentsDir` into `target`, then moves each original to
 * `documentsDir/.nedb-migrated/`. A dir without nedb files costs one readdir. Names that do not
 * decode exactly as the old store encoded them are skipped with a warning (and left in place).
 * Corrupt lines are counted and logged, never fatal: the good ones are imported, the original is
 * kept. A unique index the data violates is logged and created non-unique. Throws whatever the
 * file system or `target` throws otherwise; the unfinished file then stays for the next start.
 */
export async function migrateNedbData(
  documentsDir: string,
  target: NedbMigrationTarget,
  log: MigrationLog,
  options: NedbMigrationOptions = {},
): Promise<{ files: number; documents: number }> {
  const files = await findNedbFiles(documentsDir, log);
  if (files.length === 0) return { files: 0, documents: 0 };
  log(`nedb migration: ${files.length} datafile(s) of the old embedded store found in ${documentsDir}; importing them`);
  const started = Date.now();
  let documents = 0;
  for (const file of files) documents += await migrateFile(documentsDir, file, target, log, options);
  log(
    `nedb migration: done, ${documents} document(s) from ${files.length} datafile(s) in ${seconds(Date.now() - started)}; ` +
      `the originals are kept in ${path.join(documentsDir, MIGRATED_DIR)}`,
  );
  return { files: files.length, documents };
}

async function findNedbFiles(documentsDir: string, log: MigrationLog): Promise<NedbFile[]> {
  const apps = await readdirIfExists(documentsDir);
  const found: NedbFile[] = [];
  for (const app of apps) {
    if (!app.isDirectory() || app.name.startsWith('.')) continue;
    const appKey = decodeSegment(app.name);
    const entries = await readdir(path.join(documentsDir, app.name), { withFileTypes: true });
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    for (const name of [...names].sort()) {
      const tempOnly = name.endsWith('.db~') && !names.has(name.slice(0, -1));
      if (!name.endsWith('.db') && !tempOnly) continue;
      const segment = name.slice(0, tempOnly ? -4 : -3);
      const collection = decodeSegment(segment);
      const relative = path.join(app.name, `${segment}.db`);
      if (appKey === null || collection === null) {
        log(
          `nedb migration: skipping ${path.join(documentsDir, app.name, name)}: not a name the old store wrote (left in place)`,
          'warn',
        );
        continue;
      }
      found.push({ scope: { appKey, collection }, relative, hasTemp: names.has(`${segment}.db~`), tempOnly });
    }
  }
  return found;
}

async function migrateFile(
  documentsDir: string,
  file: NedbFile,
  target: NedbMigrationTarget,
  log: MigrationLog,
  options: NedbMigrationOptions,
): Promise<number> {
  const source = path.join(documentsDir, file.relative);
  const label = `${file.scope.appKey}/${file.scope.collection}`;
  const say: MigrationLog = (line, level) => log(`nedb migration: ${label}: ${line}`, level);
  if (file.tempOnly) {
    // nedb's ensureDatafileIntegrity: with no datafile, the temp file is a finished compaction
    // never renamed into place, and becomes the datafile.
    await rename(`${source}~`, source);
    say(`only ${source}~ existed (an interrupted compaction); using it, as nedb would`);
  }
  const size = (await stat(source)).size;
  say(`reading ${source} (${formatBytes(size)})`);
  const started = Date.now();
  const result = await importDatafile(source, size, file.scope, target, say, options);

  for (const index of result.indexes) await restoreIndex(file.scope, index, target, (line) => say(line, 'warn'));
  const documents = await target.count(file.scope, {});

  const destination = path.join(documentsDir, MIGRATED_DIR, file.relative);
  await mkdir(path.dirname(destination), { recursive: true });
  const kept = await freeName(destination);
  // A stray temp file goes first: were the datafile moved first and the process killed, the
  // next start would take the lone temp file (possibly partial) for the datafile.
  if (file.hasTemp && !file.tempOnly) await rename(`${source}~`, `${kept}~`);
  await rename(source, kept);
  await rmdir(path.dirname(source)).catch(() => undefined); // only when empty; other collections stay

  if (result.corrupt > 0) {
    const rate = result.corrupt / Math.max(result.lines, 1);
    say(
      `${result.corrupt} of ${result.lines} line(s) are not valid JSON and were skipped (line ${result.corruptLines.join(', ')}${result.corrupt > result.corruptLines.length ? ', ...' : ''})` +
        `${rate > CORRUPT_ALERT_THRESHOLD ? `; that is more than nedb's ${CORRUPT_ALERT_THRESHOLD * 100}% threshold, so the old store refused to open this collection` : ''}; ` +
        `the original keeps them: ${kept}`,
      'warn',
    );
  }
  if (result.badIds > 0)
    say(`${result.badIds} line(s) with a non-string _id were skipped; the original keeps them: ${kept}`, 'warn');
  say(
    `${documents} document(s) from ${result.lines} line(s) in ${seconds(Date.now() - started)}; original moved to ${kept}`,
  );
  return documents;
}

interface DatafileResult {
  /** Non-empty lines, as nedb counts them for its corruption rate. */
  lines: number;
  corrupt: number;
  /** The first few corrupt line numbers (1-based), for the operator. */
  corruptLines: number[];
  badIds: number;
  indexes: IndexSpec[];
}

/**
 * Streams one datafile into `target`, applying nedb's load rules line by line in file order: a
 * document line replaces any earlier one with its `_id`, a `$$deleted` line removes it,
 * `$$indexCreated` / `$$indexRemoved` lines declare the indexes. Batches keep memory bounded:
 * upserts and deletions pending in one batch always concern distinct ids, so applying the
 * batch's upserts before its deletions preserves file order.
 */
async function importDatafile(
  file: string,
  size: number,
  scope: CollectionScope,
  target: NedbMigrationTarget,
  progress: (line: string) => void,
  options: NedbMigrationOptions,
): Promise<DatafileResult> {
  const batchSize = options.batchSize ?? 500;
  const everyLines = options.progressEveryLines ?? 100_000;
  const everyMs = options.progressEveryMs ?? 5_000;
  const upserts = new Map<string, StoredDocument>();
  const deletions = new Set<string>();
  const indexes = new Map<string, IndexSpec>();
  const result: DatafileResult = { lines: 0, corrupt: 0, corruptLines: [], badIds: 0, indexes: [] };
  const flush = async () => {
    if (upserts.size > 0) await target.importDocuments(scope, [...upserts.values()]);
    for (const id of deletions) await target.deleteById(scope, id);
    upserts.clear();
    deletions.clear();
  };

  const stream = createReadStream(file, { encoding: 'utf8' });
  let lastReport = { lines: 0, at: Date.now() };
  let lineNumber = 0;
  for await (const line of linesOf(stream)) {
    lineNumber += 1;
    // nedb's reader also breaks lines at \v, \f and \r; JSON escapes them, so a raw one can
    // only separate records, never cut one.
    for (const record of line.split(/[\v\f\r]/u)) {
      if (record === '') continue; // nedb skips empty lines, and does not count them
      result.lines += 1;
      const entry = parseLine(record);
      if (entry.kind === 'corrupt') {
        result.corrupt += 1;
        if (result.corruptLines.length < 5 && result.corruptLines.at(-1) !== lineNumber)
          result.corruptLines.push(lineNumber);
      } else if (entry.kind === 'badId') {
        result.badIds += 1;
      } else if (entry.kind === 'document') {
        deletions.delete(entry.doc._id);
        upserts.set(entry.doc._id, entry.doc);
      } else if (entry.kind === 'deleted') {
        upserts.delete(entry.id);
        deletions.add(entry.id);
      } else if (entry.kind === 'indexCreated') {
        indexes.set(entry.index.field, entry.index);
      } else if (entry.kind === 'indexRemoved') {
        indexes.delete(entry.field);
      }
      if (upserts.size + deletions.size >= batchSize) await flush();
    }
    if (
      result.lines - lastReport.lines >= everyLines ||
      (lineNumber % 1000 === 0 && Date.now() - lastReport.at >= everyMs)
    ) {
      lastReport = { lines: result.lines, at: Date.now() };
      progress(
        `${formatBytes(stream.bytesRead)} of ${formatBytes(size)} read (${size > 0 ? Math.floor((100 * stream.bytesRead) / size) : 100}%), ${result.lines} line(s)`,
      );
    }
  }
  await flush();
  result.indexes = [...indexes.values()];
  return result;
}

type LineEntry =
  | { kind: 'document'; doc: StoredDocument }
  | { kind: 'deleted'; id: string }
  | { kind: 'indexCreated'; index: IndexSpec }
  | { kind: 'indexRemoved'; field: string }
  | { kind: 'corrupt' }
  | { kind: 'badId' }
  | { kind: 'ignored' };

/** One line as nedb's treatRawStreamAsync reads it (unparsable, or `null`, counts as corrupt). */
function parseLine(line: string): LineEntry {
  let doc: Record<string, unknown>;
  try {
    doc = deserialize(line) as Record<string, unknown>;
    if (doc === null) return { kind: 'corrupt' }; // nedb reads null._id, which throws
  } catch {
    return { kind: 'corrupt' };
  }
  if (doc._id) {
    // The old store only ever wrote string ids; anything else is not kinbase's data.
    if (typeof doc._id !== 'string') return { kind: 'badId' };
    if (doc.$$deleted === true) return { kind: 'deleted', id: doc._id };
    return { kind: 'document', doc: doc as StoredDocument };
  }
  const created = doc.$$indexCreated as { fieldName?: unknown; unique?: unknown; sparse?: unknown } | undefined;
  if (created && typeof created.fieldName === 'string') {
    return {
      kind: 'indexCreated',
      index: { field: created.fieldName, unique: created.unique === true, sparse: created.sparse === true },
    };
  }
  if (typeof doc.$$indexRemoved === 'string') return { kind: 'indexRemoved', field: doc.$$indexRemoved };
  return { kind: 'ignored' };
}

/** nedb's model.deserialize: `{"$$date": ms}` becomes a Date. */
function deserialize(raw: string): unknown {
  // The reviver changes nothing unless a key is $$date (spelt out, or with \u escapes): without
  // one, the plain parse is the same and several times faster.
  if (!raw.includes('$$date') && !raw.includes('\\u')) return JSON.parse(raw);
  return JSON.parse(raw, function (key, value: unknown) {
    if (key === '$$date') return new Date(value as number);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null)
      return value;
    const date = (value as { $$date?: unknown }).$$date;
    return date ? date : value;
  });
}

/**
 * The lines of a stream, split at \n. nedb's reader (byline) also split at U+0085, U+2028 and
 * U+2029, which JSON.stringify leaves unescaped inside strings: nedb cut such a document into two
 * corrupt halves (keeping an older version, if any), while here it survives. `for await` over
 * the stream reads only as fast as the lines are consumed.
 */
async function* linesOf(stream: AsyncIterable<string>): AsyncGenerator<string> {
  // The unfinished line, in pieces: a long line costs one join, not a copy per chunk.
  let pending: string[] = [];
  for await (const chunk of stream) {
    const parts = chunk.split('\n');
    if (parts.length === 1) {
      pending.push(chunk);
      continue;
    }
    pending.push(parts[0] ?? '');
    parts[0] = pending.join('');
    pending = [parts.pop() ?? ''];
    yield* parts;
  }
  const last = pending.join('');
  if (last !== '') yield last;
}

async function restoreIndex(
  scope: CollectionScope,
  index: IndexSpec,
  target: NedbMigrationTarget,
  warn: (line: string) => void,
): Promise<void> {
  if (index.field === '_id') return;
  if (index.field.includes(',')) {
    warn(
      `the compound index ${index.field} was not recreated (the store indexes single fields; kinbase never made one)`,
    );
    return;
  }
  try {
    await target.ensureIndex(scope, index);
  } catch (err) {
    if (!(err instanceof StoreError && err.kind === 'duplicate') || !index.unique) throw err;
    warn(
      `the unique index on ${index.field} could not be rebuilt because documents share a value of it; ` +
        'all of them were imported and the index was created non-unique; remove the duplicates and restart to enforce it again',
    );
    await target.ensureIndex(scope, { ...index, unique: false });
  }
}

/** `file`, or `file.1`, `file.2`, ... : an earlier migrated original is never overwritten. */
async function freeName(file: string): Promise<string> {
  for (let n = 0; ; n += 1) {
    const candidate = n === 0 ? file : `${file}.${n}`;
    if (!(await exists(candidate)) && !(await exists(`${candidate}~`))) return candidate;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

async function readdirIfExists(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
