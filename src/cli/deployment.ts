/**
 * The configured deployment, as the server would open it: the same environment (loadConfig), the
 * same apps (configured, or kept in the data dir), the same adapters (createDocumentStore and
 * createObjectStore, so every backend the server supports works here).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, type AppDefinition, type Config } from '../config/load-config';
import { resolveSigningSecret } from '../config/data-dir';
import type { DocumentStore, ObjectStore } from '../domain/ports';
import { StoreError } from '../domain/ports';
import { createDocumentStore, createObjectStore } from '../stores';
import { CliError } from './output';
import { readDataDirApps } from './apps-file';
import { backupThroughServer } from './control-client';
import { EmbeddedDocumentStore } from '../stores/documents/embedded/embedded.document-store';

export interface Deployment {
  readonly config: Config;
  /** The configured apps, or those kept in the data dir (none yet on a fresh data dir). */
  readonly apps: AppDefinition[];
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  /** The documents are an online backup of a running server's embedded store (see openDeployment). */
  readonly snapshot: boolean;
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

/**
 * Opens the stores of the configured deployment. A running server holds an embedded data dir
 * alone: with `snapshot` (commands that only read), the documents are then read from an online
 * backup the server makes of its database (one moment's state, removed on close); without, it
 * is a CliError.
 */
export async function openDeployment(
  env: Record<string, string | undefined>,
  options: { snapshot?: boolean } = {},
): Promise<Deployment> {
  const config = configFrom(env);
  const apps = config.apps ? [...config.apps] : await readDataDirApps(config.dataDir);
  let documents: DocumentStore;
  let snapshotDir: string | null = null;
  try {
    documents = await createDocumentStore(config.documents, config.dataDir, () => undefined);
  } catch (err) {
    const inUse = err instanceof StoreError && /in use by another process/.test(err.message);
    if (inUse && options.snapshot) {
      snapshotDir = await mkdtemp(path.join(tmpdir(), 'kinbase-snapshot-'));
      if (!(await backupThroughServer(config.dataDir, path.join(snapshotDir, 'kinbase.sqlite')))) {
        await rm(snapshotDir, { recursive: true, force: true });
        throw new CliError(
          `the data dir ${config.dataDir} is in use by another process, which is not answering as a kinbase server`,
        );
      }
      documents = new EmbeddedDocumentStore({ dir: snapshotDir });
    } else if (inUse) {
      throw new CliError(
        `the data dir ${config.dataDir} is in use by a running kinbase: stop it first, or take a backup (kinbase backup <dir>, online) and run this on the backup`,
      );
    } else if (err instanceof StoreError) throw new CliError(err.message);
    else throw err;
  }
  const removeSnapshot = async () => {
    if (snapshotDir) await rm(snapshotDir, { recursive: true, force: true });
  };
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
      snapshot: snapshotDir !== null,
      close: async () => {
        await objects.close();
        await documents.close();
        await removeSnapshot();
      },
    };
  } catch (err) {
    await documents.close();
    await removeSnapshot();
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
