/**
 * The on-disk index of upload sessions that the local-disk and S3 backends share: a pointer file
 * per session under its object key's directory (so a key's sessions are found without a scan) and
 * under the hour its absolute deadline falls in (so the sweeper reads only ended hours). Each
 * backend removes one session its own way; these walks decide which ones.
 */
import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const HOUR_MS = 3_600_000;

/** The directory of the sessions whose absolute deadline falls in the hour of `closesAt`. */
export function closingDir(dir: string, closesAt: number): string {
  return path.join(dir, 'closing', String(Math.floor(closesAt / HOUR_MS)));
}

/** Removes the sessions named by the pointer files in `dir` (and, when `deep`, below it). */
export async function removeListedSessions(
  dir: string,
  deep: boolean,
  remove: (id: string) => Promise<void>,
): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    if (entry.isFile()) await remove(entry.name);
    else if (deep && entry.isDirectory()) await removeListedSessions(path.join(dir, entry.name), true, remove);
  }
}

/** Removes every session whose absolute deadline lies in an hour that ended before `now`; returns how many. */
export async function sweepClosedHours(dir: string, now: Date, remove: (id: string) => Promise<void>): Promise<number> {
  const root = path.join(dir, 'closing');
  let hours: string[];
  try {
    hours = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const hour of hours) {
    if (!/^\d+$/.test(hour) || (Number(hour) + 1) * HOUR_MS > now.getTime()) continue;
    for (const id of await readdir(path.join(root, hour))) {
      await remove(id);
      removed++;
    }
    await rm(path.join(root, hour), { recursive: true, force: true });
  }
  return removed;
}
