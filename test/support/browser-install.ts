/**
 * Puts Debian's Chromium on the machine for the console's browser tests when it is missing, with
 * scripts/install-chromium.sh (as the Go-built test servers are installed on first use).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Installs Chromium if missing; returns null when it is there, else what went wrong. */
export function ensureChromium(): string | null {
  const browser = process.env.KINBASE_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(browser)) return null;
  process.stdout.write(`\nChromium not found at ${browser}; installing it with scripts/install-chromium.sh (once)\n`);
  try {
    execFileSync('bash', [path.resolve(__dirname, '../../scripts/install-chromium.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
  } catch (error) {
    return `scripts/install-chromium.sh failed: ${(error as Error).message.split('\n')[0]}`;
  }
  return existsSync(browser) ? null : `scripts/install-chromium.sh ran but ${browser} is still missing`;
}
