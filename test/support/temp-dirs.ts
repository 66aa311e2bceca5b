/**
 * Temp dirs a test file makes, tracked so they are gone when the file ends: tests remove their own
 * (finally / afterEach), and the afterAll that test/support/temp-cleanup.ts registers for every
 * suite removes whatever is still tracked and fails the suite if any of it would not go.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const tracked = new Set<string>();

/** Creates `<tmpdir>/<prefix>XXXXXX` and tracks it until removeTempDir. Throws as mkdtempSync does. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tracked.add(dir);
  return dir;
}

/** Removes a dir made by makeTempDir (or anything under it, resolved to that dir); a missing one is fine. */
export function removeTempDir(dirOrFileInside: string): void {
  const dir =
    [...tracked].find((d) => dirOrFileInside === d || dirOrFileInside.startsWith(`${d}${path.sep}`)) ?? dirOrFileInside;
  rmSync(dir, { recursive: true, force: true });
  tracked.delete(dir);
}

/** Removes every tracked dir and returns the ones that still exist afterwards (empty means all gone). */
export function removeAllTempDirs(): string[] {
  const dirs = [...tracked];
  for (const dir of dirs) {
    try {
      removeTempDir(dir);
    } catch {
      // Reported below as still present.
    }
  }
  return dirs.filter((dir) => existsSync(dir));
}
