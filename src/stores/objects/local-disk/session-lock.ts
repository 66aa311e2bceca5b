/**
 * A lock on one upload session shared by every process on the data dir: a cluster's workers may
 * each get a request for the same resumable upload (its chunks, a status probe, a retry), and two
 * appends at the same offset must not both land. The lock is a file created exclusively
 * (`O_CREAT | O_EXCL`) holding the owner's pid; a lock whose owner died (kill -9 mid-append) is
 * taken over, so a crash never wedges a session.
 */
import { rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../../domain/ports';

/** How long a request waits for another process's operation on the same session. */
const WAIT_LIMIT_MS = 30_000;

/**
 * Runs `work` holding the lock file `file`. Throws StoreError('unavailable') (503, retry) when
 * another live process holds it for longer than the wait limit.
 */
export async function withSessionLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await ownerIsGone(file)) {
      // Only the file still naming the dead owner goes: a live process may have just replaced it.
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new StoreError('unavailable', 'the upload session is busy in another process');
    await sleep(pause);
  }
  try {
    return await work();
  } finally {
    await rm(file, { force: true });
  }
}

/** Whether the lock file names a process that no longer runs (an unreadable or empty file: not yet). */
async function ownerIsGone(file: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // This process never waits for itself (its own operations on a session queue in memory first):
  // its own pid is a lock left by an earlier process that had the same pid.
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes every lock file under `dir`: called by the one process that starts on the data dir (a
 * single process, or a cluster's primary before it forks), when no lock can be held, so a lock
 * whose owner's pid was reused by an unrelated process cannot outlive a restart.
 */
export function clearSessionLocks(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
