import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAppDefinitions, type AppDefinition, type Config } from './load-config';

const APPS_FILE = 'apps.json';
const SIGNING_SECRET_FILE = 'signing-secret';

export interface ResolvedApps {
  apps: AppDefinition[];
  /** True when this start generated the app (so server.ts prints its credentials prominently). */
  generated: boolean;
}

/**
 * The apps to serve: the configured ones, else the app kept in the data dir, else a freshly
 * generated one that is then kept there (mode 0600) so later starts reuse it.
 */
export async function resolveApps(config: Config): Promise<ResolvedApps> {
  if (config.apps) return { apps: [...config.apps], generated: false };
  const file = path.join(config.dataDir, APPS_FILE);
  const existing = await readIfExists(file);
  if (existing !== null) {
    const problems: string[] = [];
    const apps = parseAppDefinitions(JSON.parse(existing), file, problems);
    if (problems.length) throw new Error(`${file} is invalid:\n  - ${problems.join('\n  - ')}`);
    return { apps, generated: false };
  }
  const app: AppDefinition = {
    appKey: `kid_${randomToken(12)}`,
    appSecret: randomToken(32),
    masterSecret: randomToken(32),
    name: 'kinbase',
    collections: {},
  };
  await writeAtomically(file, `${JSON.stringify([app], null, 2)}\n`);
  return { apps: [app], generated: true };
}

/** The local backend's HMAC key: configured, else kept in the data dir, else generated and kept. */
export async function resolveSigningSecret(config: Config): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  const file = path.join(config.dataDir, SIGNING_SECRET_FILE);
  const existing = await readIfExists(file);
  if (existing !== null && existing.trim().length >= 32) return existing.trim();
  const secret = randomBytes(32).toString('base64url');
  await writeAtomically(file, `${secret}\n`);
  return secret;
}

/** A random token of `length` characters from [a-z0-9], each equally likely. */
export function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  // Rejection sampling keeps every character equally likely.
  for (const byte of bytes) {
    if (byte < 252) out += alphabet[byte % 36];
    if (out.length === length) return out;
  }
  return out + randomToken(length - out.length);
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Writes `file` (mode 0600) through a temporary file and a rename: readers see the old or the new content. */
export async function writeAtomically(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, file);
}
