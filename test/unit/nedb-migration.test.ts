/**
 * The nedb migration against an in-memory target, with datafiles written by the real
 * @seald-io/nedb: what lands in the target is exactly what nedb's own load of the same files
 * yields (nedb is the oracle), however the file is cut into batches, and whatever is odd in it
 * (corrupt lines, interrupted compactions, names the old store never wrote).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Datastore from '@seald-io/nedb';
import fc from 'fast-check';
import { StoreError, type CollectionScope, type IndexSpec, type StoredDocument } from '../../src/domain/ports';
import {
  MIGRATED_DIR,
  migrateNedbData,
  type NedbMigrationTarget,
} from '../../src/stores/documents/embedded/legacy-nedb/nedb-migration';
import { decodeSegment, encodeSegment } from '../../src/stores/documents/embedded/legacy-nedb/nedb-names';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

/** A store in a Map, which refuses unique indexes its data violates, and records its calls. */
class MemoryTarget implements NedbMigrationTarget {
  readonly data = new Map<string, Map<string, StoredDocument>>();
  readonly indexes = new Map<string, IndexSpec[]>();
  readonly batches: number[] = [];
  failAfterBatches = Infinity;

  async importDocuments(scope: CollectionScope, docs: StoredDocument[]): Promise<void> {
    if (this.batches.length >= this.failAfterBatches) throw new Error('disk full');
    this.batches.push(docs.length);
    const collection = this.collection(scope);
    for (const doc of docs) collection.set(doc._id, doc);
  }

  async deleteById(scope: CollectionScope, id: string): Promise<boolean> {
    return this.collection(scope).delete(id);
  }

  async ensureIndex(scope: CollectionScope, index: IndexSpec): Promise<void> {
    if (index.unique) {
      const values = [...this.collection(scope).values()].map((doc) => doc[index.field]).filter((v) => v !== undefined);
      if (new Set(values).size !== values.length) throw new StoreError('duplicate', `duplicate ${index.field}`);
    }
    this.indexes.set(key(scope), [...(this.indexes.get(key(scope)) ?? []), index]);
  }

  async count(scope: CollectionScope): Promise<number> {
    return this.collection(scope).size;
  }

  docs(scope: CollectionScope): StoredDocument[] {
    return [...this.collection(scope).values()].sort((a, b) => a._id.localeCompare(b._id));
  }

  private collection(scope: CollectionScope): Map<string, StoredDocument> {
    let collection = this.data.get(key(scope));
    if (!collection) this.data.set(key(scope), (collection = new Map()));
    return collection;
  }
}

const key = (scope: CollectionScope) => `${scope.appKey}/${scope.collection}`;

/** The old store's layout: one datafile per app and collection. */
const datafile = (dir: string, scope: CollectionScope) =>
  path.join(dir, encodeSegment(scope.appKey), `${encodeSegment(scope.collection)}.db`);

/** Opens a datafile as the old store did; no compaction afterwards, so superseded lines stay. */
async function oldStore(dir: string, scope: CollectionScope): Promise<Datastore<StoredDocument>> {
  const db = new Datastore<StoredDocument>({ filename: datafile(dir, scope) });
  await db.loadDatabaseAsync();
  return db;
}

/** What nedb itself loads from a copy of `dir` (its load compacts, so never on the original). */
async function nedbView(dir: string, scope: CollectionScope): Promise<{ docs: StoredDocument[]; indexes: string[] }> {
  const copy = makeTempDir('kinbase-nedb-oracle-');
  try {
    cpSync(dir, copy, { recursive: true });
    const db = await oldStore(copy, scope);
    const docs = db.getAllData<StoredDocument>().sort((a, b) => a._id.localeCompare(b._id));
    const { indexes } = db as unknown as { indexes: Record<string, unknown> };
    return {
      docs,
      indexes: Object.keys(indexes)
        .filter((f) => f !== '_id')
        .sort(),
    };
  } finally {
    removeTempDir(copy);
  }
}

function collect(): { lines: string[]; log: (line: string, level?: 'info' | 'warn') => void } {
  const lines: string[] = [];
  return { lines, log: (line, level = 'info') => lines.push(`${level}: ${line}`) };
}

describe('migrateNedbData', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('kinbase-nedb-');
  });
  afterEach(() => removeTempDir(dir));

  const notes: CollectionScope = { appKey: 'kid_one', collection: 'notes' };
  const odd: CollectionScope = { appKey: 'kid_one', collection: 'Übersicht 2/3 ~x' };
  const other: CollectionScope = { appKey: 'kid_two', collection: '.hidden' };

  /** A history of inserts, updates, removals and index changes, left uncompacted. */
  async function writeHistory(): Promise<void> {
    const db = await oldStore(dir, notes);
    await db.ensureIndexAsync({ fieldName: 'code', unique: true, sparse: true });
    await db.ensureIndexAsync({ fieldName: 'temporary' });
    for (let i = 0; i < 30; i++) {
      await db.insertAsync({
        _id: `n${i}`,
        code: `c${i}`,
        at: new Date(Date.UTC(2024, 0, 1, 0, i)),
        nested: { list: [i, { deep: new Date(i * 1000) }] },
        tags: ['a', `t${i % 3}`],
      });
    }
    // Refused by the unique index, so nedb writes nothing for it.
    await expect(
      db.updateAsync({ _id: { $in: ['n1', 'n2'] } }, { $set: { code: 'same' } }, { multi: true }),
    ).rejects.toThrow();
    await db.updateAsync({ _id: { $in: ['n1', 'n2', 'n3'] } }, { $set: { 'nested.list': [] } }, { multi: true });
    await db.updateAsync({ _id: 'n4' }, { _id: 'n4', replaced: true }, {});
    await db.updateAsync({ _id: 'n5' }, { $set: { title: 'one' } }, {});
    await db.updateAsync({ _id: 'n5' }, { $set: { title: 'two' } }, {});
    await db.removeAsync({ _id: { $in: ['n6', 'n7', 'n8'] } }, { multi: true });
    await db.insertAsync({ _id: 'n7', code: 'reborn' });
    await db.removeIndexAsync('temporary');
    const second = await oldStore(dir, odd);
    await second.insertAsync([
      { _id: 'x', when: new Date(0) },
      { _id: 'y', empty: {} },
    ]);
    const third = await oldStore(dir, other);
    await third.insertAsync({ _id: 'only', value: null });
  }

  test('imports exactly what nedb itself loads: replaced and deleted lines, dates, nested values, indexes', async () => {
    await writeHistory();
    const expected = await Promise.all([notes, odd, other].map((scope) => nedbView(dir, scope)));
    const target = new MemoryTarget();
    const { lines, log } = collect();

    const result = await migrateNedbData(dir, target, log, { batchSize: 4 });

    expect(result).toEqual({ files: 3, documents: expected.reduce((n, e) => n + e.docs.length, 0) });
    [notes, odd, other].forEach((scope, i) => expect(target.docs(scope)).toEqual(expected[i]?.docs));
    expect(target.docs(notes).find((d) => d._id === 'n0')?.at).toBeInstanceOf(Date);
    expect(target.docs(notes).map((d) => d._id)).not.toContain('n6');
    expect(target.indexes.get(key(notes))).toEqual([{ field: 'code', unique: true, sparse: true }]);
    expect(expected[0]?.indexes).toEqual(['code']);
    expect(Math.max(...target.batches)).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual([]);
    expect(lines.some((l) => l.includes('kid_one/Übersicht 2/3 ~x: reading'))).toBe(true);
    expect(lines.at(-1)).toMatch(/done, \d+ document\(s\) from 3 datafile\(s\)/u);
  });

  test('moves every original to .nedb-migrated, and a second run finds nothing to do', async () => {
    await writeHistory();
    const before = readFileSync(datafile(dir, notes));
    await migrateNedbData(dir, new MemoryTarget(), () => undefined);

    expect(readFileSync(datafile(path.join(dir, MIGRATED_DIR), notes))).toEqual(before);
    expect(existsSync(datafile(path.join(dir, MIGRATED_DIR), odd))).toBe(true);
    expect(readdirSync(dir)).toEqual([MIGRATED_DIR]); // emptied app dirs go too
    const again = collect();
    expect(await migrateNedbData(dir, new MemoryTarget(), again.log)).toEqual({ files: 0, documents: 0 });
    expect(again.lines).toEqual([]);
  });

  test('a run that fails midway leaves the file in place, and the next run completes it', async () => {
    await writeHistory();
    const expected = await nedbView(dir, notes);
    const target = new MemoryTarget();
    target.failAfterBatches = 3;
    await expect(migrateNedbData(dir, target, () => undefined, { batchSize: 4 })).rejects.toThrow('disk full');
    expect(existsSync(datafile(dir, notes))).toBe(true);

    target.failAfterBatches = Infinity;
    await migrateNedbData(dir, target, () => undefined, { batchSize: 4 });
    expect(target.docs(notes)).toEqual(expected.docs);
    expect(existsSync(datafile(dir, notes))).toBe(false);
  });

  test('a later line wins and a deletion removes, across and within batches', async () => {
    const file = datafile(dir, notes);
    mkdirSync(path.dirname(file), { recursive: true });
    const lines = [
      { _id: 'a', v: 1 },
      { _id: 'b', v: 1 },
      { _id: 'a', v: 2 },
      { $$deleted: true, _id: 'b' },
      { _id: 'c', v: 1 },
      { _id: 'b', v: 3 },
      { $$deleted: true, _id: 'c' },
      { _id: 'c', v: 4 },
      { $$deleted: true, _id: 'a' },
      { _id: 'd', v: 1 },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    for (const batchSize of [1, 2, 3, 100]) {
      const target = new MemoryTarget();
      cpSync(file, `${file}.copy`);
      await migrateNedbData(dir, target, () => undefined, { batchSize });
      expect(target.docs(notes)).toEqual([
        { _id: 'b', v: 3 },
        { _id: 'c', v: 4 },
        { _id: 'd', v: 1 },
      ]);
      cpSync(`${file}.copy`, file);
      rmSync(path.join(dir, MIGRATED_DIR), { recursive: true });
    }
  });

  test("corrupt lines are counted and logged, even past nedb's 10% threshold, and every good line is kept", async () => {
    const file = datafile(dir, notes);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      ['{"_id":"a","v":1}', '{"_id":"b",', 'null', '', '{"_id":"c","at":{"$$date":86400000}}', 'garbage'].join('\n'),
    );
    const target = new MemoryTarget();
    const { lines, log } = collect();
    await migrateNedbData(dir, target, log);

    expect(target.docs(notes)).toEqual([
      { _id: 'a', v: 1 },
      { _id: 'c', at: new Date(86_400_000) },
    ]);
    const warning = lines.find((l) => l.startsWith('warn') && l.includes('not valid JSON'));
    expect(warning).toContain('3 of 5 line(s)');
    expect(warning).toContain('line 2, 3, 6');
    expect(warning).toContain('refused to open this collection');
    expect(warning).toContain(path.join(MIGRATED_DIR, 'kid_one', 'notes.db'));
  });

  test('records nedb split at \\r, \\v or \\f are split there too, CRLF files read like LF ones, escaped keys like plain ones', async () => {
    const file = datafile(dir, notes);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      '{"_id":"a"}\r\n{"_id":"b"}\r{"_id":"c"}\v{"_id":"d"}\f{"_id":"e","at":{"\\u0024$date":5}}\r\n',
    );
    const expected = await nedbView(dir, notes);
    const target = new MemoryTarget();
    const { lines, log } = collect();
    await migrateNedbData(dir, target, log);
    expect(target.docs(notes)).toEqual(expected.docs);
    expect(expected.docs).toHaveLength(5);
    expect(target.docs(notes)[4]?.at).toEqual(new Date(5)); // an escaped $$date key is still a date
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  test("a document with U+2028 in a string survives (nedb's own reader cut it in two)", async () => {
    const db = await oldStore(dir, notes);
    await db.insertAsync({ _id: 'p', text: 'line\u2028separator\u2029and\u0085next' });
    await expect(nedbView(dir, notes)).rejects.toThrow(/100% of the data file is corrupt/u);
    const target = new MemoryTarget();
    await migrateNedbData(dir, target, () => undefined);
    expect(target.docs(notes)).toEqual([{ _id: 'p', text: 'line\u2028separator\u2029and\u0085next' }]);
  });

  test('only a temp file (interrupted compaction) is used as the datafile; a stray one beside the datafile is ignored and kept', async () => {
    const lone = datafile(dir, notes);
    const paired = datafile(dir, odd);
    mkdirSync(path.dirname(lone), { recursive: true });
    writeFileSync(`${lone}~`, '{"_id":"from-temp"}\n');
    writeFileSync(paired, '{"_id":"from-datafile"}\n');
    writeFileSync(`${paired}~`, '{"_id":"half-writ');
    const target = new MemoryTarget();
    await migrateNedbData(dir, target, () => undefined);

    expect(target.docs(notes)).toEqual([{ _id: 'from-temp' }]);
    expect(target.docs(odd)).toEqual([{ _id: 'from-datafile' }]);
    expect(readFileSync(`${datafile(path.join(dir, MIGRATED_DIR), odd)}~`, 'utf8')).toBe('{"_id":"half-writ');
    expect(existsSync(path.join(dir, 'kid_one'))).toBe(false);
  });

  test('names the old store never wrote are skipped with a warning and left in place', async () => {
    mkdirSync(path.join(dir, 'kid_one'), { recursive: true });
    mkdirSync(path.join(dir, 'bad~zz'), { recursive: true });
    for (const name of ['~41.db', 'a b.db', '.x.db']) writeFileSync(path.join(dir, 'kid_one', name), '{"_id":"q"}\n');
    writeFileSync(path.join(dir, 'bad~zz', 'fine.db'), '{"_id":"q"}\n');
    writeFileSync(path.join(dir, 'kid_one', 'notes.txt'), 'not a datafile');
    const target = new MemoryTarget();
    const { lines, log } = collect();
    expect(await migrateNedbData(dir, target, log)).toEqual({ files: 0, documents: 0 });
    expect(lines.filter((l) => l.startsWith('warn: nedb migration: skipping'))).toHaveLength(4);
    expect(existsSync(path.join(dir, 'kid_one', '~41.db'))).toBe(true);
    expect(target.data.size).toBe(0);
  });

  test('a unique index the data violates is reported by field and created non-unique; nothing is lost', async () => {
    const file = datafile(dir, notes);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      [
        '{"_id":"a","email":"x"}',
        '{"_id":"b","email":"x"}',
        '{"$$indexCreated":{"fieldName":"email","unique":true,"sparse":false}}',
      ].join('\n'),
    );
    const target = new MemoryTarget();
    const { lines, log } = collect();
    await migrateNedbData(dir, target, log);

    expect(target.docs(notes)).toHaveLength(2);
    expect(target.indexes.get(key(notes))).toEqual([{ field: 'email', unique: false, sparse: false }]);
    expect(lines.find((l) => l.startsWith('warn'))).toMatch(/unique index on email could not be rebuilt/u);
  });

  test('big files report progress and reach the store in bounded batches', async () => {
    const file = datafile(dir, notes);
    mkdirSync(path.dirname(file), { recursive: true });
    const body: string[] = [];
    for (let i = 0; i < 20_000; i++) body.push(JSON.stringify({ _id: `d${i % 15_000}`, n: i, pad: 'x'.repeat(50) }));
    writeFileSync(file, body.join('\n'));
    const target = new MemoryTarget();
    const { lines, log } = collect();
    const result = await migrateNedbData(dir, target, log, { progressEveryLines: 5_000 });

    expect(result.documents).toBe(15_000);
    expect(target.docs(notes).find((d) => d._id === 'd0')?.n).toBe(15_000);
    expect(Math.max(...target.batches)).toBe(500);
    expect(lines.filter((l) => / read \(\d+%\), \d+ line\(s\)$/u.test(l))).toHaveLength(4);
  });

  test('a dir with no datafiles, or none at all, costs nothing and logs nothing', async () => {
    const { lines, log } = collect();
    writeFileSync(path.join(dir, 'kinbase.sqlite'), '');
    mkdirSync(path.join(dir, MIGRATED_DIR, 'kid_one'), { recursive: true });
    writeFileSync(path.join(dir, MIGRATED_DIR, 'kid_one', 'notes.db'), '{"_id":"old"}\n');
    expect(await migrateNedbData(dir, new MemoryTarget(), log)).toEqual({ files: 0, documents: 0 });
    expect(await migrateNedbData(path.join(dir, 'absent'), new MemoryTarget(), log)).toEqual({
      files: 0,
      documents: 0,
    });
    expect(lines).toEqual([]);
  });
});

describe('decodeSegment', () => {
  test("inverts the old store's encoding for any name", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), (name) => {
        expect(decodeSegment(encodeSegment(name))).toBe(name);
      }),
    );
  });

  test.each(['', '~41', '~e2~82~ac', '~FF', '.x', 'a b', '~4', 'é'])(
    'refuses %j, which the old store never wrote',
    (segment) => {
      expect(decodeSegment(segment)).toBeNull();
    },
  );
});
