/**
 * The lock that keeps a second kinbase off an embedded data dir. One process holds it for as long
 * as it serves: the single process, or the primary of a cluster, whose workers open the database
 * itself in shared mode (sqlite/engine.ts) and take no lock. A second kinbase, of either kind,
 * fails at start, not mid-request.
 *
 * The lock is SQLite's own, on a file of its own (`kinbase.lock` beside the database): a
 * connection in exclusive locking mode that has written keeps its exclusive file lock until it
 * closes. The operating system releases it when the process ends however it ends (kill -9
 * included), so a crash never leaves a stale lock behind.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../../../domain/ports';

export interface DataDirLock {
  /** Lets the data dir go (idempotent). */
  release(): void;
}

/**
 * Takes the lock of the embedded store under `dir`. Throws StoreError('unavailable') naming the
 * file when another process holds it.
 */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'kinbase.lock');
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL)');
    // A real write: from it on the connection holds the exclusive lock until it closes.
    db.prepare('INSERT OR REPLACE INTO holder (id, pid) VALUES (0, ?)').run(process.pid);
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code;
    const why =
      code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
        ? 'it is in use by another process (one kinbase per data dir)'
        : String((err as Error).message);
    throw new StoreError('unavailable', `cannot open the embedded store ${dir}: ${why}`, { cause: err });
  }
  const held = db;
  return {
    release: () => {
      if (held.open) held.close();
    },
  };
}
