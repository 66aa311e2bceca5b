import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Allocated bytes under dir (not apparent sizes: an lmdb map or a WAL may be sparse). */
export function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    total += entry.isDirectory() ? diskBytes(file) : statSync(file).blocks * 512;
  }
  return total;
}
