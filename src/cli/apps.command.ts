/**
 * `kinbase apps list|create|rotate-secret`: the apps of the data dir (`apps.json`) or of
 * KINBASE_APPS_FILE. A running server reads them at start: a change takes effect at its next start.
 */
import type { Config } from '../config/load-config';
import { appsFileOf, newAppKey, newSecret, readRawApps, writeRawApps } from './apps-file';
import { CliError } from './output';

export interface AppSummary {
  appKey: string;
  name: string;
  appSecret?: string;
  masterSecret?: string;
}

export async function listApps(config: Config, env: Record<string, string | undefined>): Promise<AppSummary[]> {
  if (config.apps) return config.apps.map((a) => ({ appKey: a.appKey, name: a.name }));
  const raw = (await readRawApps(appsFileOf(config, env))) ?? [];
  return raw.map((a) => ({
    appKey: String(a.appKey),
    name: typeof a.name === 'string' ? a.name : String(a.appKey),
  }));
}

export async function createApp(
  config: Config,
  env: Record<string, string | undefined>,
  options: { name?: string; appKey?: string },
): Promise<AppSummary> {
  const file = appsFileOf(config, env);
  const raw = (await readRawApps(file)) ?? [];
  const appKey = options.appKey ?? newAppKey();
  if (raw.some((a) => a.appKey === appKey)) throw new CliError(`app ${appKey} already exists in ${file}`);
  const app = {
    appKey,
    appSecret: newSecret(),
    masterSecret: newSecret(),
    name: options.name ?? appKey,
    collections: {},
  };
  await writeRawApps(file, [...raw, app]);
  return app;
}

/** Replaces the app secret or the master secret (`which`) with a new one; the old one stops working at the next start. */
export async function rotateSecret(
  config: Config,
  env: Record<string, string | undefined>,
  appKey: string,
  which: 'app' | 'master',
): Promise<AppSummary> {
  const file = appsFileOf(config, env);
  const raw = (await readRawApps(file)) ?? [];
  const app = raw.find((a) => a.appKey === appKey);
  if (!app) throw new CliError(`no app ${appKey} in ${file}`);
  const field = which === 'app' ? 'appSecret' : 'masterSecret';
  app[field] = newSecret();
  await writeRawApps(file, raw);
  return { appKey, name: typeof app.name === 'string' ? app.name : appKey, [field]: app[field] as string };
}
