/**
 * The apps a data dir keeps (`<dataDir>/apps.json`, generated at the first start) or an apps file
 * (KINBASE_APPS_FILE): read, and changed atomically by `kinbase apps` and `kinbase import`. A
 * running server reads its apps at start: changes take effect at its next start.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAppDefinitions, type AppDefinition, type Config } from '../config/load-config';
import { randomToken, writeAtomically } from '../config/data-dir';
import { CliError } from './output';

/** The apps kept in `dataDir`, or none on a fresh data dir. */
export async function readDataDirApps(dataDir: string): Promise<AppDefinition[]> {
  return (await readAppsFile(path.join(dataDir, 'apps.json'))) ?? [];
}

/** Which file holds the apps, or a CliError when they come from the environment (KINBASE_APP_KEY). */
export function appsFileOf(config: Config, env: Record<string, string | undefined>): string {
  if (env.KINBASE_APP_KEY)
    throw new CliError('the apps come from KINBASE_APP_KEY and its siblings: change those variables instead');
  return env.KINBASE_APPS_FILE ? path.resolve(env.KINBASE_APPS_FILE) : path.join(config.dataDir, 'apps.json');
}

/** The raw entries of an apps file (kept as written: environment files, flex services), or null if absent. */
export async function readRawApps(file: string): Promise<Record<string, unknown>[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new CliError(`${file} is not a JSON array of apps`);
  return parsed as Record<string, unknown>[];
}

async function readAppsFile(file: string): Promise<AppDefinition[] | null> {
  const raw = await readRawApps(file);
  if (raw === null) return null;
  const problems: string[] = [];
  const apps = parseAppDefinitions(raw, file, problems, {
    readFile: () => '[]',
    baseDir: path.dirname(file),
    warnings: [],
  });
  if (problems.length > 0) throw new CliError(`${file} is invalid: ${problems.join('; ')}`);
  return apps;
}

/** Validates and writes the apps file atomically (mode 0600). */
export async function writeRawApps(file: string, apps: Record<string, unknown>[]): Promise<void> {
  const problems: string[] = [];
  parseAppDefinitions(
    apps.map(({ environmentFile: _file, ...rest }) => rest),
    file,
    problems,
  );
  if (problems.length > 0) throw new CliError(`refusing to write ${file}: ${problems.join('; ')}`);
  await writeAtomically(file, `${JSON.stringify(apps, null, 2)}\n`);
}

/** A new secret, as the first start generates them. */
export function newSecret(): string {
  return randomToken(32);
}

/** A new app key, as the first start generates them. */
export function newAppKey(): string {
  return `kid_${randomToken(12)}`;
}
