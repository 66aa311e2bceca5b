/**
 * `kinbase import <dir> [--app K] [--into K] [--merge]`: loads an export (archive/format.ts) into
 * the configured deployment. Everything is read and checked first (archive/verify.ts); the target
 * must be empty unless `--merge`. Writes are idempotent (bytes by generation, documents upserted
 * by `_id`) and a marker in the app records which export is being imported, so an interrupted
 * import run again continues and finishes without duplicates.
 */
import { createReadStream } from 'node:fs';
import type { AppDefinition } from '../config/load-config';
import { StoreError, type CollectionScope, type DocumentStore, type StoredDocument } from '../domain/ports';
import { FILES_COLLECTION } from '../domain/files/file-metadata';
import { objectKeyFor } from '../domain/files/file-keys';
import { TOMBSTONE_COLLECTION } from '../domain/appdata/deletion-log';
import {
  TRANSIENT_COLLECTIONS,
  decodeDocument,
  entryPath,
  type FileLine,
  type Manifest,
  type ManifestApp,
} from './archive/format';
import { readLines } from './archive/ndjson';
import { readManifest, verifyExport } from './archive/verify';
import { appsFileOf, readRawApps, writeRawApps } from './apps-file';
import type { Deployment } from './deployment';
import { CliError, type Output } from './output';

const MARKER_COLLECTION = '_kinbaseImport';
const BATCH = 500;
/** Conflicts listed by id in the result (all are counted). */
const LISTED_CONFLICTS = 50;

export interface ImportOptions {
  appKey?: string;
  into?: string;
  merge?: boolean;
}

export interface ImportResult {
  apps: { appKey: string; from: string; entities: number; files: number; conflicts: number; conflictIds: string[] }[];
  resumed: boolean;
}

export async function importExport(
  deployment: Deployment,
  env: Record<string, string | undefined>,
  dir: string,
  options: ImportOptions,
  out: Output,
): Promise<ImportResult> {
  const manifest = await readManifest(dir);
  const selected = selectApps(manifest, options);
  const targets = selected.map((app) => ({ app, target: options.into ?? app.appKey }));
  const missing = targets.filter(({ target }) => !deployment.apps.some((a) => a.appKey === target));
  if (missing.length > 0 && deployment.config.apps)
    throw new CliError(
      `app ${missing[0]?.target} is not configured in this deployment: add it to the apps configuration first (or import into a data dir's apps)`,
    );

  const totalBytes = selected.reduce((sum, app) => sum + app.files.bytes, 0);
  const checking = out.progress('checking', totalBytes);
  await verifyExport(dir, manifest, new Set(selected.map((a) => a.appKey)), (n) => checking.increment(n));
  checking.stop();

  let resumed = false;
  for (const { target } of targets) {
    const state = await targetState(deployment.documents, target, manifest.exportId);
    if (state === 'other-import')
      throw new CliError(`app ${target} holds an unfinished import of another export; finish that one first`);
    if (state === 'resume') resumed = true;
    else if (state === 'not-empty' && !options.merge)
      throw new CliError(`app ${target} is not empty: import into an empty app, or pass --merge to keep what is there`);
  }
  if (missing.length > 0) await addApps(deployment, env, missing);

  const result: ImportResult = { apps: [], resumed };
  for (const { app, target } of targets) {
    const marker = { appKey: target, collection: MARKER_COLLECTION };
    await deployment.documents.upsert(marker, {
      _id: 'import',
      exportId: manifest.exportId,
      startedAt: new Date().toISOString(),
    });
    const conflicts: string[] = [];
    let conflictCount = 0;
    const onConflict = (collection: string, id: string) => {
      conflictCount++;
      if (conflicts.length < LISTED_CONFLICTS) conflicts.push(`${collection}/${id}`);
    };
    const files = await importFiles(deployment, dir, app, target, options.merge === true, out);
    let entities = 0;
    for (const collection of app.collections) {
      if (TRANSIENT_COLLECTIONS.has(collection.name)) continue;
      entities += await importCollection(
        deployment.documents,
        dir,
        collection,
        target,
        options.merge === true,
        onConflict,
        out,
      );
    }
    await restartDeltaTracking(deployment.documents, target);
    await deployment.documents.deleteById(marker, 'import');
    result.apps.push({
      appKey: target,
      from: app.appKey,
      entities,
      files,
      conflicts: conflictCount,
      conflictIds: conflicts,
    });
  }
  return result;
}

function selectApps(manifest: Manifest, options: ImportOptions): ManifestApp[] {
  const apps = options.appKey ? manifest.apps.filter((a) => a.appKey === options.appKey) : manifest.apps;
  if (apps.length === 0)
    throw new CliError(options.appKey ? `the export holds no app ${options.appKey}` : 'the export holds no app');
  if (options.into && apps.length > 1) throw new CliError('--into needs one app: pass --app too');
  return apps;
}

/** `empty`, `not-empty`, `resume` (an unfinished import of this export) or `other-import`. */
async function targetState(documents: DocumentStore, appKey: string, exportId: string) {
  const [marker] = await documents.findByIds({ appKey, collection: MARKER_COLLECTION }, ['import']);
  if (marker) return marker.exportId === exportId ? 'resume' : 'other-import';
  for (const name of await documents.listCollections(appKey)) {
    if (TRANSIENT_COLLECTIONS.has(name)) continue;
    if ((await documents.count({ appKey, collection: name }, {})) > 0) return 'not-empty';
  }
  return 'empty';
}

/** Adds the exported apps' definitions (keys, secrets, collection settings) to the apps file. */
async function addApps(
  deployment: Deployment,
  env: Record<string, string | undefined>,
  missing: { app: ManifestApp; target: string }[],
): Promise<void> {
  const file = appsFileOf(deployment.config, env);
  const raw = (await readRawApps(file)) ?? [];
  for (const { app, target } of missing) {
    const definition = app.definition;
    if (typeof definition?.appSecret !== 'string' || typeof definition.masterSecret !== 'string')
      throw new CliError(`the export holds no keys for app ${app.appKey}; create the app first (kinbase apps create)`);
    raw.push({
      appKey: target,
      appSecret: definition.appSecret,
      masterSecret: definition.masterSecret,
      name: app.name,
      collections: definition.collections ?? {},
    });
  }
  await writeRawApps(file, raw);
  deployment.apps.push(...(raw.slice(-missing.length) as unknown as AppDefinition[]));
}

async function importFiles(
  deployment: Deployment,
  dir: string,
  app: ManifestApp,
  target: string,
  merge: boolean,
  out: Output,
): Promise<number> {
  const bar = out.progress(`${target} files`, app.files.count);
  const blob: CollectionScope = { appKey: target, collection: FILES_COLLECTION };
  let written = 0;
  for await (const { text } of readLines(entryPath(dir, app.files.path) as string)) {
    const line = decodeDocument(text) as FileLine;
    if (merge && (await deployment.documents.findByIds(blob, [line._id])).length > 0) {
      bar.increment();
      continue; // the record is kept, so are its bytes; the conflict is reported with the records
    }
    const key = objectKeyFor(target, line._id, line.generation);
    const existing = await deployment.objects.stat(key);
    if (!existing || existing.md5 !== line.md5) {
      const stat = await deployment.objects.write(key, createReadStream(entryPath(dir, line.path) as string), {
        contentType: line.contentType,
        public: line.public,
        ...(line.filename ? { filename: line.filename } : {}),
      });
      if (stat.md5 !== line.md5)
        throw new CliError(`file ${line._id} was stored with md5 ${stat.md5}, not ${line.md5}`);
    }
    written++;
    bar.increment();
  }
  bar.stop();
  return written;
}

async function importCollection(
  documents: DocumentStore,
  dir: string,
  collection: ManifestApp['collections'][number],
  target: string,
  merge: boolean,
  onConflict: (collection: string, id: string) => void,
  out: Output,
): Promise<number> {
  const scope: CollectionScope = { appKey: target, collection: collection.name };
  const bar = out.progress(`${target} ${collection.name}`, collection.count);
  let batch: StoredDocument[] = [];
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    let docs = batch;
    if (merge) {
      const existing = new Set(
        (
          await documents.findByIds(
            scope,
            docs.map((d) => d._id),
          )
        ).map((d) => d._id),
      );
      for (const id of existing) onConflict(collection.name, id);
      docs = docs.filter((d) => !existing.has(d._id));
    }
    try {
      await documents.putMany(scope, docs);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === 'duplicate' && merge)) throw err;
      // A unique field (a username) taken by another document: insert one by one, keeping the existing one.
      for (const doc of docs) {
        try {
          await documents.insert(scope, doc);
        } catch (inner) {
          if (inner instanceof StoreError && inner.kind === 'duplicate') onConflict(collection.name, doc._id);
          else throw inner;
        }
      }
    }
    count += batch.length;
    bar.increment(batch.length);
    batch = [];
  };
  for await (const { text } of readLines(entryPath(dir, collection.path) as string)) {
    batch.push(decodeDocument(text) as StoredDocument);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  bar.stop();
  return count;
}

/**
 * Delta sets start fresh: a `since` from before the import is refused (the client reads the whole
 * collection), because the tombstones of the source were not carried.
 */
async function restartDeltaTracking(documents: DocumentStore, appKey: string): Promise<void> {
  const scope = { appKey, collection: TOMBSTONE_COLLECTION };
  const now = new Date().toISOString();
  for (const doc of await documents.find(scope, { kind: 'tracking' }, { limit: 10_000 }))
    await documents.setFields(scope, doc._id, { since: now });
}
