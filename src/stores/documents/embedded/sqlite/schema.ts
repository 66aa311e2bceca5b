/**
 * The embedded engine's tables and the statements over them. `docs`: each document as JSON text
 * under (collection, _id). `entries`: one row per index key and document, ordered by key bytes
 * (index-keys.ts), with a second index by document; `public_entries`: the same rows again for
 * documents everyone may read. `collections` and `indexes`: the catalog, with counts and flags;
 * `catalog_generation`: bumped on every catalog change, so worker processes sharing the file know
 * when to reload theirs (an extra table an older kinbase ignores: the schema version stays).
 * `shared_events`, `shared_marks`, `shared_logs`: the SharedState of every process on the file
 * (shared-state.ts): failed-login and MFA counters, Business Logic's recent failures.
 */
import type Database from 'better-sqlite3';

/** The layout below; a database of a later one is refused rather than misread. */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS collections (id INTEGER PRIMARY KEY, app TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, UNIQUE (app, name));
CREATE TABLE IF NOT EXISTS docs (coll INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, dates INTEGER NOT NULL, PRIMARY KEY (coll, id));
CREATE TABLE IF NOT EXISTS indexes (ix INTEGER PRIMARY KEY, coll INTEGER NOT NULL, field TEXT NOT NULL, is_unique INTEGER NOT NULL, sparse INTEGER NOT NULL,
  sortable INTEGER NOT NULL, multikey INTEGER NOT NULL, ready INTEGER NOT NULL, UNIQUE (coll, field));
CREATE TABLE IF NOT EXISTS entries (ix INTEGER NOT NULL, key BLOB NOT NULL, id TEXT NOT NULL, PRIMARY KEY (ix, key, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_document ON entries (ix, id, key);
CREATE TABLE IF NOT EXISTS public_entries (ix INTEGER NOT NULL, key BLOB NOT NULL, id TEXT NOT NULL, PRIMARY KEY (ix, key, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS catalog_generation (id INTEGER PRIMARY KEY CHECK (id = 0), generation INTEGER NOT NULL);
INSERT OR IGNORE INTO catalog_generation (id, generation) VALUES (0, 0);
CREATE TABLE IF NOT EXISTS shared_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS shared_events_by_key ON shared_events (app, key, at);
CREATE INDEX IF NOT EXISTS shared_events_expires ON shared_events (expires);
CREATE TABLE IF NOT EXISTS shared_marks (
  app TEXT NOT NULL, key TEXT NOT NULL, value INTEGER NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (app, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shared_logs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, log TEXT NOT NULL, entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shared_logs_by_log ON shared_logs (app, log, seq);
`;

export function prepare(db: Database.Database) {
  const rows = 'SELECT id, body, dates FROM docs WHERE coll = ?';
  return {
    beginRead: db.prepare('BEGIN DEFERRED'),
    commitRead: db.prepare('COMMIT'),
    generation: db.prepare('SELECT generation FROM catalog_generation WHERE id = 0'),
    bumpGeneration: db.prepare('UPDATE catalog_generation SET generation = generation + 1 WHERE id = 0'),
    insertCollection: db.prepare('INSERT INTO collections (app, name) VALUES (?, ?)'),
    count: db.prepare('SELECT count FROM collections WHERE id = ?'),
    namesOfApp: db.prepare('SELECT name FROM collections WHERE app = ? AND count > 0 ORDER BY name'),
    addCount: db.prepare('UPDATE collections SET count = count + ? WHERE id = ?'),
    get: db.prepare(`${rows} AND id = ?`),
    exists: db.prepare('SELECT 1 FROM docs WHERE coll = ? AND id = ?'),
    firstRows: db.prepare(`${rows} ORDER BY id LIMIT ?`),
    rowsAfter: db.prepare(`${rows} AND id > ? ORDER BY id LIMIT ?`),
    lastRows: db.prepare(`${rows} ORDER BY id DESC LIMIT ?`),
    rowsBefore: db.prepare(`${rows} AND id < ? ORDER BY id DESC LIMIT ?`),
    idAtAsc: db.prepare('SELECT id FROM docs WHERE coll = ? ORDER BY id LIMIT 1 OFFSET ?'),
    idAtDesc: db.prepare('SELECT id FROM docs WHERE coll = ? ORDER BY id DESC LIMIT 1 OFFSET ?'),
    insert: db.prepare('INSERT INTO docs (coll, id, body, dates) VALUES (?, ?, ?, ?)'),
    update: db.prepare('UPDATE docs SET body = ?, dates = ? WHERE coll = ? AND id = ?'),
    delete: db.prepare('DELETE FROM docs WHERE coll = ? AND id = ?'),
    insertIndex: db.prepare(
      'INSERT INTO indexes (coll, field, is_unique, sparse, sortable, multikey, ready) VALUES (?, ?, ?, ?, 1, 0, 0)',
    ),
    readyIndex: db.prepare('UPDATE indexes SET ready = 1 WHERE ix = ?'),
    flagIndex: db.prepare('UPDATE indexes SET sortable = ?, multikey = ? WHERE ix = ?'),
    dropIndex: db.prepare('DELETE FROM indexes WHERE ix = ?'),
    dropEntries: db.prepare('DELETE FROM entries WHERE ix = ?'),
    dropPublicEntries: db.prepare('DELETE FROM public_entries WHERE ix = ?'),
    insertPublicEntry: db.prepare('INSERT OR IGNORE INTO public_entries (ix, key, id) VALUES (?, ?, ?)'),
    deletePublicEntry: db.prepare('DELETE FROM public_entries WHERE ix = ? AND key = ? AND id = ?'),
    publicRangeInclusive: db.prepare('SELECT id FROM public_entries WHERE ix = ? AND key >= ? AND key <= ? LIMIT ?'),
    publicRangeExclusive: db.prepare('SELECT id FROM public_entries WHERE ix = ? AND key >= ? AND key < ? LIMIT ?'),
    insertEntry: db.prepare('INSERT OR IGNORE INTO entries (ix, key, id) VALUES (?, ?, ?)'),
    deleteEntry: db.prepare('DELETE FROM entries WHERE ix = ? AND key = ? AND id = ?'),
    otherHolders: db.prepare('SELECT id FROM entries WHERE ix = ? AND key = ? AND id <> ? LIMIT 100'),
    rangeInclusive: db.prepare('SELECT id FROM entries WHERE ix = ? AND key >= ? AND key <= ? LIMIT ?'),
    rangeExclusive: db.prepare('SELECT id FROM entries WHERE ix = ? AND key >= ? AND key < ? LIMIT ?'),
    smallestKeyOf: db.prepare('SELECT key FROM entries WHERE ix = ? AND id = ? ORDER BY key LIMIT 1'),
    largestKeyOf: db.prepare('SELECT key FROM entries WHERE ix = ? AND id = ? ORDER BY key DESC LIMIT 1'),
    hasEntry: db.prepare('SELECT 1 FROM entries WHERE ix = ? AND key = ? AND id = ?'),
    keysOf: db.prepare('SELECT key FROM entries WHERE ix = ? AND id = ? LIMIT ?'),
    countKey: db.prepare('SELECT count(*) FROM entries WHERE ix = ? AND key = ?'),
    firstKey: db.prepare('SELECT key FROM entries WHERE ix = ? ORDER BY key LIMIT 1'),
    keyAfter: db.prepare('SELECT key FROM entries WHERE ix = ? AND key > ? ORDER BY key LIMIT 1'),
    lastKey: db.prepare('SELECT key FROM entries WHERE ix = ? ORDER BY key DESC LIMIT 1'),
    keyBefore: db.prepare('SELECT key FROM entries WHERE ix = ? AND key < ? ORDER BY key DESC LIMIT 1'),
    idsWithKey: db.prepare('SELECT id FROM entries WHERE ix = ? AND key = ? ORDER BY id LIMIT ?'),
    idsWithKeyAfter: db.prepare('SELECT id FROM entries WHERE ix = ? AND key = ? AND id > ? ORDER BY id LIMIT ?'),
  };
}
