/**
 * better-sqlite3 laid out for kinbase: one file, WAL, documents as JSON text, index rows in a
 * WITHOUT ROWID table whose primary key is the index. Two document-table layouts:
 * - `rowid`: an integer rowid table with UNIQUE(collection, id): SQLite's advice for rows of
 *   1 KB (the unique index is small, the rows sit in the table b-tree);
 * - `without-rowid`: the rows themselves clustered by (collection, id).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Candidate, Commit } from './candidate';
import { INDEXED_FIELDS, indexedValue, orderedKey, type BenchDoc, type IndexedField } from './workload';

export type SqliteLayout = 'rowid' | 'without-rowid';

/** Page cache per connection (SQLite's default is 2 MB). */
const CACHE_KIB = 32 * 1024;

export function openSqlite(dir: string, layout: SqliteLayout): Candidate {
  const db = new Database(path.join(dir, 'kinbase.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.exec(
    layout === 'rowid'
      ? `CREATE TABLE docs (rowid INTEGER PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (collection, id));`
      : `CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;`,
  );
  db.exec(`CREATE TABLE idx (collection TEXT NOT NULL, field TEXT NOT NULL, key BLOB NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (collection, field, key, id)) WITHOUT ROWID;`);

  const insertDoc = db.prepare('INSERT INTO docs (collection, id, body) VALUES (?, ?, ?)');
  const insertKey = db.prepare('INSERT INTO idx (collection, field, key, id) VALUES (?, ?, ?, ?)');
  const byId = db.prepare('SELECT body FROM docs WHERE collection = ? AND id = ?').pluck();
  const equal = db
    .prepare(
      `SELECT d.body FROM idx i JOIN docs d ON d.collection = i.collection AND d.id = i.id
    WHERE i.collection = ? AND i.field = ? AND i.key = ? ORDER BY i.key, i.id`,
    )
    .pluck();
  const from = db
    .prepare(
      `SELECT d.body FROM idx i JOIN docs d ON d.collection = i.collection AND d.id = i.id
    WHERE i.collection = ? AND i.field = ? AND i.key >= ? ORDER BY i.key, i.id LIMIT ?`,
    )
    .pluck();
  const all = db.prepare('SELECT body FROM docs WHERE collection = ?').pluck();

  const writeRows = (collection: string, docs: readonly BenchDoc[]) => {
    for (const doc of docs) {
      insertDoc.run(collection, doc._id, JSON.stringify(doc));
      for (const field of INDEXED_FIELDS)
        insertKey.run(collection, field, orderedKey(indexedValue(doc, field)), doc._id);
    }
  };
  const write = db.transaction(writeRows);
  let synchronous: Commit = 'process';

  return {
    name: layout === 'rowid' ? 'sqlite' : 'sqlite w/o rowid',
    commits: ['process', 'fsync'],
    async writeBatch(collection, docs) {
      write(collection, docs);
    },
    async writeOne(collection, doc, commit) {
      if (commit !== synchronous) {
        // NORMAL in WAL mode fsyncs only at checkpoints; FULL fsyncs the WAL at every commit.
        db.pragma(`synchronous = ${commit === 'fsync' ? 'FULL' : 'NORMAL'}`);
        synchronous = commit;
      }
      write(collection, [doc]);
    },
    get(collection, id) {
      const body = byId.get(collection, id) as string | undefined;
      return body === undefined ? undefined : (JSON.parse(body) as unknown);
    },
    findEqual(collection, field: IndexedField, key) {
      return (equal.all(collection, field, key) as string[]).map((body) => JSON.parse(body) as unknown);
    },
    findFrom(collection, field: IndexedField, key, limit) {
      return (from.all(collection, field, key, limit) as string[]).map((body) => JSON.parse(body) as unknown);
    },
    scan(collection) {
      let count = 0;
      for (const body of all.iterate(collection) as IterableIterator<string>) {
        JSON.parse(body);
        count++;
      }
      return count;
    },
    async settle() {
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      db.close();
    },
  };
}
