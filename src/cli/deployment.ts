/**
 * The configured deployment, as the server would open it: the same environment (loadConfig), the
 * same apps (configured, or kept in the data dir), the same adapters (createDocumentStore and
 * createObjectStore, so every backend the server supports works here).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type AppDefinition, type Config } from '../config/load-config';
import { resolveSigningSecret } from '../config/data-dir';
import type { DocumentStore, ObjectStore } from '../domain/ports';
import { StoreError } from '../domain/ports';
import { createDocumentStore, createObjectStore } from '../stores';
import { CliError } from './output';
import { readDataDirApps } from './apps-file';

export interface Deployment {
  readonly config: Config;
  /** The configured apps, or those kept in the data dir (none yet on a fresh data dir). */
  readonly apps: AppDefinition[];
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  close(): Promise<void>;
}

/** Reads the configuration from `env`; a problem is a CliError listing every bad variable. */
export function configFrom(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.problems.join('; '));
    throw err;
  }
}

/** Opens the stores of the configured deployment. The embedded store refuses while a server holds the data dir. */
export async function openDeployment(env: Record<string, string | undefined>): Promise<Deployment> {
  const config = configFrom(env);
  const apps = config.apps ? [...config.apps] : await readDataDirApps(config.dataDir);
  let documents: DocumentStore;
  try {
    documents = await createDocumentStore(config.documents, config.dataDir, () => undefined);
  } catch (err) {
    if (err instanceof StoreError && /in use by another process/.test(err.message))
      throw new CliError(
        `the data dir ${config.dataDir} is in use by a running kinbase: stop it first, or take a backup (kinbase backup <dir>, online) and run this on the backup`,
      );
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }
  try {
    const signingSecret = config.storage.kind === 'local' ? await resolveSigningSecret(config) : 'unused';
    const { store: objects } = await createObjectStore(config.storage, {
      dataDir: config.dataDir,
      publicUrl: config.publicUrl,
      signingSecret,
    });
    return {
      config,
      apps,
      documents,
      objects,
      close: async () => {
        await objects.close();
        await documents.close();
      },
    };
  } catch (err) {
    await documents.close();
    throw err;
  }
}

/** The kinbase version from package.json (looked up from this file, built or not). */
export function kinbaseVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kinbase') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}
