/**
 * `kinbase backup <dir>` and `kinbase restore <dir>`.
 *
 * Embedded store: the SQLite database is copied with SQLite's online backup API, by the running
 * server through its control socket (control-socket.ts) or, when no server runs, by this command;
 * then the local disk objects, which are never changed in place (every upload is a new generation
 * written by a rename), are copied file by file, with the data dir's apps.json and signing secret.
 * MongoDB or a bucket: the backup is an export of every app (export.command.ts), and restore
 * imports it. Restore writes only into an empty data dir.
 */
import { copyFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/load-config';
import { backupThroughServer } from './control-client';
import { EmbeddedDocumentStore } from '../stores/documents/embedded/embedded.document-store';
import { createDocumentStore } from '../stores';
import { StoreError } from '../domain/ports';
import { openDeployment } from './deployment';
import { exportDeployment } from './export.command';
import { importExport } from './import.command';
import { CliError, type Output } from './output';

const BACKUP_FILE = 'kinbase-backup.json';
const DATABASE = path.join('documents', 'kinbase.sqlite');
const DATA_DIR_FILES = ['apps.json', 'signing-secret'];

interface BackupInfo {
  format: 'kinbase-backup';
  formatVersion: 1;
  createdAt: string;
  /** `data-dir`: the embedded database and local objects; `export`: an export of every app in export/. */
  kind: 'data-dir' | 'export';
  online: boolean;
}

export interface CommandResult {
  summary: string[];
  [key: string]: unknown;
}

export async function backupDeployment(
  config: Config,
  env: Record<string, string | undefined>,
  dir: string,
  out: Output,
): Promise<CommandResult> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await readdir(dir)).length > 0) throw new CliError(`${dir} is not empty: back up into a new directory`);
  if (config.documents.kind !== 'embedded' || config.storage.kind !== 'local') {
    const deployment = await openDeployment(env);
    try {
      await exportDeployment(deployment, path.join(dir, 'export'), {}, out);
    } finally {
      await deployment.close();
    }
    await copyDataDirFiles(config.dataDir, dir);
    await writeInfo(dir, { kind: 'export', online: true });
    return { summary: [`backed up every app (as an export) into ${dir}`], dir, kind: 'export' };
  }
  await mkdir(path.join(dir, 'documents'), { mode: 0o700 });
  const target = path.join(dir, DATABASE);
  const online = await backupThroughServer(config.dataDir, target);
  if (!online) await backupDirectly(config, target);
  const objects = await copyObjects(path.join(config.dataDir, 'objects'), path.join(dir, 'objects'), out);
  await copyDataDirFiles(config.dataDir, dir);
  await writeInfo(dir, { kind: 'data-dir', online });
  return {
    summary: [
      `backed up ${config.dataDir} into ${dir} (${online ? 'online, through the running server' : 'no server was running'}; ${objects} objects)`,
    ],
    dir,
    kind: 'data-dir',
    online,
    objects,
  };
}

async function backupDirectly(config: Config, file: string): Promise<void> {
  let store;
  try {
    store = await createDocumentStore(config.documents, config.dataDir, () => undefined);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(`${err.message} (and no server answered on its control socket)`);
    throw err;
  }
  try {
    if (!(store instanceof EmbeddedDocumentStore)) throw new CliError('not an embedded store');
    await store.backupTo(file);
  } finally {
    await store.close();
  }
}

/** Copies the objects and their sidecars (not the upload sessions in progress); returns how many objects. */
async function copyObjects(from: string, to: string, out: Output): Promise<number> {
  let count = 0;
  const bar = out.progress('objects', 0);
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await mkdir(path.join(to, rel), { recursive: true, mode: 0o700 });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .uploads/ and temporary files
      const source = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(source, path.join(rel, entry.name));
      else if (entry.isFile()) {
        try {
          await copyFile(source, path.join(to, rel, entry.name));
          if (!entry.name.endsWith('.meta.json')) count++;
        } catch (err) {
          // Deleted since the database was copied: the backup's records no longer name it either,
          // or name a file deleted after the backup's moment (reported by a download as missing bytes).
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  };
  await walk(from, '');
  bar.stop();
  return count;
}

async function copyDataDirFiles(dataDir: string, dir: string): Promise<void> {
  for (const name of DATA_DIR_FILES) {
    try {
      await copyFile(path.join(dataDir, name), path.join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function writeInfo(dir: string, info: Pick<BackupInfo, 'kind' | 'online'>): Promise<void> {
  const full: BackupInfo = { format: 'kinbase-backup', formatVersion: 1, createdAt: new Date().toISOString(), ...info };
  await writeFile(path.join(dir, BACKUP_FILE), `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
}

export async function restoreDeployment(
  config: Config,
  env: Record<string, string | undefined>,
  dir: string,
  out: Output,
): Promise<CommandResult> {
  let info: BackupInfo;
  try {
    info = JSON.parse(await readFile(path.join(dir, BACKUP_FILE), 'utf8')) as BackupInfo;
  } catch {
    throw new CliError(`${path.join(dir, BACKUP_FILE)} is missing or unreadable: not a kinbase backup`);
  }
  if (info.format !== 'kinbase-backup' || info.formatVersion !== 1)
    throw new CliError(`${dir} is not a kinbase backup this version reads`);
  if (info.kind === 'export') {
    await restoreDataDirFiles(config, dir);
    const deployment = await openDeployment(env);
    try {
      await importExport(deployment, env, path.join(dir, 'export'), {}, out);
    } finally {
      await deployment.close();
    }
    return { summary: [`restored every app from ${dir}`], dir };
  }
  if (config.documents.kind !== 'embedded' || config.storage.kind !== 'local')
    throw new CliError(
      'this backup holds an embedded store and local files: restore it with MONGODB_URL and KINBASE_STORAGE unset',
    );
  await restoreDataDirFiles(config, dir);
  await mkdir(path.join(config.dataDir, 'documents'), { recursive: true, mode: 0o700 });
  await copyFile(path.join(dir, DATABASE), path.join(config.dataDir, DATABASE));
  const objects = path.join(dir, 'objects');
  if (await stat(objects).catch(() => null))
    await cp(objects, path.join(config.dataDir, 'objects'), { recursive: true, errorOnExist: true, force: false });
  return { summary: [`restored the backup of ${info.createdAt} into ${config.dataDir}`], dir };
}

/** Refuses a data dir that holds anything, then copies apps.json and the signing secret. */
async function restoreDataDirFiles(config: Config, dir: string): Promise<void> {
  const present = await readdir(config.dataDir).catch(() => [] as string[]);
  if (present.length > 0)
    throw new CliError(`the data dir ${config.dataDir} is not empty: restore into an empty data dir`);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  for (const name of DATA_DIR_FILES) {
    try {
      await copyFile(path.join(dir, name), path.join(config.dataDir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
