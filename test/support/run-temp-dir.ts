/**
 * One private temp dir per `jest` run. The global setups point TMPDIR at it before any test worker
 * starts, so the workers, and the processes tests spawn with the inherited environment, create
 * their temp files there (os.tmpdir() reads TMPDIR on every call). The last global teardown
 * then knows that whatever is left in it was left by this run (not by another run on the same
 * machine), removes it, and fails the run naming what a test leaked.
 *
 * Every project's global setup uses it (unit, api, e2e, browser), in whichever order jest runs them;
 * the state lives in process.env, which the setups, the teardowns and the workers all see.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { addRunFailure } = require('./summary-reporter.js') as {
  addRunFailure: (rootDir: string, reason: string) => void;
};

const DIR = 'KINBASE_TEST_RUN_TMPDIR';
const USERS = 'KINBASE_TEST_RUN_TMPDIR_USERS';
const PREVIOUS = 'KINBASE_TEST_RUN_PREVIOUS_TMPDIR';

/** Our own temp entries all start with this; only they fail the run when left behind. */
const OURS = /^kinbase-/;

/** Creates the run's temp dir on first call and points TMPDIR at it; returns it. */
export function enterRunTempDir(): string {
  let dir = process.env[DIR];
  if (!dir) {
    dir = mkdtempSync(path.join(tmpdir(), 'kinbase-test-run-'));
    process.env[PREVIOUS] = process.env.TMPDIR ?? '';
    process.env[DIR] = dir;
    process.env.TMPDIR = dir;
    // If jest exits without running the teardowns (a failed setup, process.exit), still remove it.
    const created = dir;
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  process.env[USERS] = String(Number(process.env[USERS] ?? 0) + 1);
  return dir;
}

/**
 * Call after the servers a setup started are stopped. The last caller lists what the run left in
 * its temp dir, removes the dir, restores TMPDIR, and if `kinbase-*` entries were left counts a
 * failure in `<rootDir>/.test-results.json` and throws (other entries, from libraries, are only
 * printed).
 */
export function leaveRunTempDir(rootDir: string): void {
  const dir = process.env[DIR];
  if (!dir) return;
  const users = Number(process.env[USERS] ?? 1) - 1;
  process.env[USERS] = String(users);
  if (users > 0) return;

  let left: string[] = [];
  try {
    left = readdirSync(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (process.env[PREVIOUS]) process.env.TMPDIR = process.env[PREVIOUS];
    else delete process.env.TMPDIR;
    delete process.env[DIR];
    delete process.env[USERS];
    delete process.env[PREVIOUS];
  }
  const ours = left.filter((name) => OURS.test(name));
  const others = left.filter((name) => !OURS.test(name));
  if (others.length > 0)
    process.stderr.write(`\nthe test run left temp entries of other programs (removed): ${others.join(', ')}\n`);
  if (ours.length > 0) {
    const reason =
      `tests left ${ours.length} temp entr${ours.length === 1 ? 'y' : 'ies'} behind (removed now; ` +
      `find the test that creates them and remove them when it ends): ${ours.join(', ')}`;
    addRunFailure(rootDir, reason);
    throw new Error(reason);
  }
}
