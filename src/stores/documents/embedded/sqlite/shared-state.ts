/**
 * SharedState in the embedded store's SQLite file: tables beside the documents, so every process
 * that opens the same file (several workers of one server) counts failed logins and logs Business
 * Logic failures together. Every call is one short statement, atomic under SQLite's write lock.
 * Expired events and marks are removed by a cleanup query at most once a minute, from the writes
 * themselves, so the tables stay bounded by what one window can hold.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Engine } from './engine';
import { StoreError, type SharedCounters, type SharedLogs, type SharedState } from '../../../../domain/ports';

const CLEANUP_EVERY_MS = 60_000;

export class SqliteSharedState implements SharedState, SharedCounters, SharedLogs {
  private readonly sql;
  private lastCleanup = 0;

  private readonly db: Database.Database;

  constructor(
    /** The engine whose file holds the tables (schema.ts creates them) and whose turn's read transaction a write ends. */
    private readonly engine: Pick<Engine, 'db' | 'endSnapshot'>,
    /** The clock expiry is judged by: the instance's, so a test clock's events are not swept by the wall clock. */
    private readonly clock: () => Date = () => new Date(),
  ) {
    const db = (this.db = engine.db);
    this.sql = {
      add: db.prepare('INSERT INTO shared_events (app, key, at, expires) VALUES (?, ?, ?, ?)'),
      newest: db.prepare(
        'SELECT at FROM shared_events WHERE app = ? AND key = ? AND at > ? ORDER BY at DESC, seq DESC LIMIT ?',
      ),
      removeOne: db.prepare(
        `DELETE FROM shared_events WHERE seq = (
           SELECT seq FROM shared_events WHERE app = ? AND key = ? AND at > ? ORDER BY at DESC, seq DESC LIMIT 1)`,
      ),
      clearEvents: db.prepare('DELETE FROM shared_events WHERE app = ? AND key = ?'),
      clearMark: db.prepare('DELETE FROM shared_marks WHERE app = ? AND key = ?'),
      mark: db.prepare(
        `INSERT INTO shared_marks (app, key, value, expires) VALUES (?, ?, ?, ?)
         ON CONFLICT (app, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      markOf: db.prepare('SELECT value FROM shared_marks WHERE app = ? AND key = ? AND expires > ?'),
      cleanupEvents: db.prepare('DELETE FROM shared_events WHERE expires <= ?'),
      cleanupMarks: db.prepare('DELETE FROM shared_marks WHERE expires <= ?'),
      append: db.prepare('INSERT INTO shared_logs (app, log, entry) VALUES (?, ?, ?)'),
      trim: db.prepare(
        `DELETE FROM shared_logs WHERE app = ? AND log = ? AND seq <= (
           SELECT seq FROM shared_logs WHERE app = ? AND log = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      ),
      recent: db.prepare('SELECT entry FROM shared_logs WHERE app = ? AND log = ? ORDER BY seq DESC LIMIT ?'),
    };
  }

  get counters(): SharedCounters {
    return this;
  }

  get logs(): SharedLogs {
    return this;
  }

  async add(appKey: string, key: string, at: number, expiresAt: number): Promise<void> {
    this.write(() => {
      this.cleanupNowAndThen();
      this.sql.add.run(appKey, hashed(key), at, expiresAt);
    });
  }

  async newest(appKey: string, key: string, since: number, limit: number): Promise<number[]> {
    return this.run(() => this.sql.newest.pluck().all(appKey, hashed(key), since, limit) as number[]);
  }

  async removeOne(appKey: string, key: string, since: number): Promise<void> {
    this.write(() => this.sql.removeOne.run(appKey, hashed(key), since));
  }

  async clear(appKey: string, key: string): Promise<void> {
    const hash = hashed(key);
    this.write(() => {
      this.sql.clearEvents.run(appKey, hash);
      this.sql.clearMark.run(appKey, hash);
    });
  }

  async mark(appKey: string, key: string, value: number, expiresAt: number): Promise<void> {
    this.write(() => this.sql.mark.run(appKey, hashed(key), value, expiresAt));
  }

  async markOf(appKey: string, key: string): Promise<number | undefined> {
    return this.run(
      () => this.sql.markOf.pluck().get(appKey, hashed(key), this.clock().getTime()) as number | undefined,
    );
  }

  async append(appKey: string, log: string, entry: Record<string, unknown>, keep: number): Promise<void> {
    this.write(() => {
      this.sql.append.run(appKey, log, JSON.stringify(entry));
      this.sql.trim.run(appKey, log, appKey, log, keep);
    });
  }

  async recent(appKey: string, log: string, limit: number): Promise<Record<string, unknown>[]> {
    return this.run(() =>
      (this.sql.recent.all(appKey, log, limit) as { entry: string }[]).map(
        (row) => JSON.parse(row.entry) as Record<string, unknown>,
      ),
    );
  }

  private cleanupNowAndThen(): void {
    const now = this.clock().getTime();
    if (now - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = now;
    this.sql.cleanupEvents.run(now);
    this.sql.cleanupMarks.run(now);
  }

  /**
   * One write transaction, IMMEDIATE as the document store's: in a worker that shares the file,
   * the turn's read transaction ends first (a write inside it would commit only at the end of the
   * turn, after the answer, and could meet SQLITE_BUSY_SNAPSHOT).
   */
  private write<T>(work: () => T): T {
    return this.run(() => {
      this.engine.endSnapshot();
      return this.db.transaction(work).immediate();
    });
  }

  /** SQLite failures (busy, disk full, closed) become StoreError('unavailable'): a 503, not a 500. */
  private run<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      const raw = (err as { code?: unknown }).code;
      const code = typeof raw === 'string' ? raw : '';
      if (code.startsWith('SQLITE_') || !this.db.open)
        throw new StoreError('unavailable', `the embedded store failed: ${code || 'closed'}`, { cause: err });
      throw err;
    }
  }
}

/** Keys are client-influenced (usernames): stored as a fixed-size hash, whatever their length. */
export function hashed(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
