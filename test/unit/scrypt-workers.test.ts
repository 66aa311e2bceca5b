/**
 * The scrypt worker pool (real worker threads) behind password hashing: hashes complete while
 * every libuv thread is blocked (so logins cannot starve file I/O, and file I/O cannot starve
 * logins), the queue is bounded, a dead worker fails its job and is replaced, and idle workers
 * never keep a process alive.
 */
import { execFile, spawnSync } from 'node:child_process';
import { scrypt, scryptSync } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { transpileFile } from '../support/transpile';
import { HashingBusyError, PasswordHasher } from '../../src/domain/users/passwords';
import { ScryptWorkers } from '../../src/internal/scrypt-workers';

const COST = { N: 1024, r: 8, p: 1 };

/**
 * Occupies every libuv thread-pool thread with an open() of a FIFO that has no writer (it blocks
 * until one appears). `release` opens the writers, which lets every blocked open return.
 */
function blockLibuvPool(): { release: () => Promise<void> } {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const dir = mkdtempSync(path.join(tmpdir(), 'kinbase-fifo-'));
  const fifos = Array.from({ length: threads }, (_, i) => path.join(dir, `f${i}`));
  for (const fifo of fifos) {
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) throw new Error('mkfifo failed: this test needs a POSIX system');
  }
  const readers: Array<Promise<FileHandle>> = fifos.map((fifo) => open(fifo, 'r'));
  return {
    release: async () => {
      for (const fifo of fifos) {
        // Non-blocking, so a reader not yet inside open() is retried instead of hanging this thread.
        for (;;) {
          try {
            closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      }
      await Promise.all(readers.map(async (r) => (await r).close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('ScryptWorkers', () => {
  test('a password hash completes while every libuv thread is blocked, before scrypt queued on libuv does', async () => {
    const pool = new ScryptWorkers({ size: 1 });
    const hasher = new PasswordHasher(pool);
    const blocked = blockLibuvPool();
    // A safety net only: if hashing waited for libuv (the old code), this unblocks it and the
    // order assertion below fails instead of the test hanging.
    const safety = setTimeout(() => void blocked.release(), 15_000);
    try {
      const finished: string[] = [];
      const onLibuv = new Promise<void>((resolve, reject) =>
        scrypt('probe', 'salt', 32, COST, (err) => (err ? reject(err) : resolve())),
      ).then(() => void finished.push('libuv'));
      const hash = await hasher.hash('correct horse');
      finished.push('pool');
      expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
      expect(await hasher.verify('correct horse', hash)).toBe(true);
      expect(finished).toEqual(['pool']);
      expect(pool.stats()).toMatchObject({ hashed: 2, workersStarted: 1 });
      clearTimeout(safety);
      await blocked.release();
      await onLibuv;
      expect(finished).toEqual(['pool', 'libuv']);
    } finally {
      clearTimeout(safety);
      await pool.close();
    }
  });

  test("keys are exactly node's scrypt, and each answer belongs to its request", async () => {
    const pool = new ScryptWorkers({ size: 2 });
    try {
      const salts = Array.from({ length: 12 }, (_, i) => Buffer.from(`salt-${i}`));
      const keys = await Promise.all(salts.map((salt, i) => pool.derive(`pw ${i} ü`, salt, 32, COST)));
      keys.forEach((key, i) => expect(key.equals(scryptSync(`pw ${i} ü`, salts[i]!, 32, COST))).toBe(true));
    } finally {
      await pool.close();
    }
  });

  test('beyond maxQueue waiting hashes, more are refused at once with HashingBusyError', async () => {
    const pool = new ScryptWorkers({ size: 1, maxQueue: 2 });
    try {
      const jobs = Array.from({ length: 5 }, (_, i) =>
        pool.derive(`pw${i}`, Buffer.from('s'), 32, COST).then(
          () => 'hashed',
          (err: Error) => err,
        ),
      );
      const outcomes = await Promise.all(jobs);
      // One runs, two wait, two are refused.
      expect(outcomes.filter((o) => o === 'hashed')).toHaveLength(3);
      expect(outcomes.filter((o) => o instanceof HashingBusyError)).toHaveLength(2);
      expect(pool.stats()).toMatchObject({ hashed: 3, refused: 2, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  test('a worker that dies fails the hash it held (never hangs) and the next hash runs on a new worker', async () => {
    const pool = new ScryptWorkers({ size: 1 });
    try {
      await pool.derive('warm', Buffer.from('s'), 32, COST);
      const held = pool.derive('held', Buffer.from('s'), 32, { N: 1 << 16, r: 8, p: 1 });
      await pool.crashWorkers();
      await expect(held).rejects.toThrow(/exited/);
      const key = await pool.derive('after', Buffer.from('s'), 32, COST);
      expect(key.equals(scryptSync('after', 's', 32, COST))).toBe(true);
      expect(pool.stats()).toMatchObject({ workersStarted: 2, failed: 1 });
    } finally {
      await pool.close();
    }
  });

  test('close() rejects what waits and every later hash', async () => {
    const pool = new ScryptWorkers({ size: 1 });
    const pending = Array.from({ length: 4 }, (_, i) =>
      pool.derive(String(i), Buffer.from('s'), 32, COST).then(
        () => 'hashed',
        (err: Error) => err.message,
      ),
    );
    await pool.close();
    expect(await Promise.all(pending)).toContain('scrypt workers are closed');
    await expect(pool.derive('late', Buffer.from('s'), 32, COST)).rejects.toThrow(/closed/);
    await expect(pool.close()).resolves.toBeUndefined();
  });

  test('idle workers never keep the process alive', async () => {
    // The real pool module, compiled as the build would, in a child that hashes once and never closes it.
    const dir = mkdtempSync(path.join(tmpdir(), 'kinbase-scrypt-'));
    try {
      const compiled = transpileFile(path.resolve(__dirname, '../../src/internal/scrypt-workers.ts'));
      writeFileSync(path.join(dir, 'scrypt-workers.js'), compiled.replace('./scrypt-runner', './scrypt-runner.js'));
      writeFileSync(
        path.join(dir, 'scrypt-runner.js'),
        transpileFile(path.resolve(__dirname, '../../src/internal/scrypt-runner.ts')),
      );
      writeFileSync(
        path.join(dir, 'main.js'),
        `
        const { ScryptWorkers } = require('./scrypt-workers.js');
        new ScryptWorkers().derive('pw', Buffer.from('salt'), 32, { N: 1024, r: 8, p: 1 }).then((key) => console.log(key.toString('hex')));
      `,
      );
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [path.join(dir, 'main.js')], { timeout: 20_000 }, (err: Error | null, out) =>
          err ? reject(err) : resolve(out),
        );
      });
      expect(stdout.trim()).toBe(scryptSync('pw', 'salt', 32, COST).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
