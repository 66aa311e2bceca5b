/**
 * `kinbase export <dir> [--app K]`: one app, or every app, of the configured deployment into a
 * portable directory (archive/format.ts). On the embedded store the command either holds the data
 * dir alone, so no write can happen during the export, or, while a server runs, reads an online
 * backup of one moment (deployment.ts); on MongoDB each document is read whole, before or after
 * any write to it (see docs/backups.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AppDefinition } from '../config/load-config';
import type { ObjectStore, StoredDocument } from '../domain/ports';
import {
  FILES_COLLECTION,
  GENERATION_FIELD,
  UPLOAD_FIELD,
  generationOf,
  openUploadOf,
} from '../domain/files/file-metadata';
import { legacyObjectKeyFor, newGeneration, objectKeyFor } from '../domain/files/file-keys';
import {
  FORMAT,
  FORMAT_VERSION,
  TRANSIENT_COLLECTIONS,
  withoutStoredVariants,
  collectionFileName,
  type FileLine,
  type Manifest,
  type ManifestApp,
  type ManifestEntry,
} from './archive/format';
import { NdjsonWriter } from './archive/ndjson';
import { kinbaseVersion, type Deployment } from './deployment';
import { CliError, type Output } from './output';
import { scanCollection } from './scan';

export interface ExportResult {
  dir: string;
  apps: { appKey: string; entities: number; files: number; fileBytes: number }[];
}

/** Exports into `dir` (which must be absent or empty). Throws CliError on bad input. */
export async function exportDeployment(
  deployment: Deployment,
  dir: string,
  options: { appKey?: string },
  out: Output,
): Promise<ExportResult> {
  const apps = selectApps(deployment.apps, options.appKey);
  await prepareEmptyDir(dir);
  const entries: ManifestEntry[] = [];
  const manifestApps: ManifestApp[] = [];
  const result: ExportResult = { dir, apps: [] };
  for (const [index, app] of apps.entries()) {
    const base = `apps/${index}`;
    await mkdir(path.join(dir, base, 'collections'), { recursive: true, mode: 0o700 });
    await mkdir(path.join(dir, base, 'files'), { recursive: true, mode: 0o700 });
    const names = (await deployment.documents.listCollections(app.appKey)).filter((n) => !TRANSIENT_COLLECTIONS.has(n));
    const collections: ManifestApp['collections'] = [];
    const files = new NdjsonWriter(path.join(dir, base, 'files.ndjson'));
    let fileCount = 0;
    let fileBytes = 0;
    let entities = 0;
    for (const name of names) {
      const rel = `${base}/collections/${collectionFileName(name)}`;
      const writer = new NdjsonWriter(path.join(dir, rel));
      const bar = out.progress(
        `${app.appKey} ${name}`,
        await deployment.documents.count({ appKey: app.appKey, collection: name }, {}),
      );
      for await (const page of scanCollection(deployment.documents, { appKey: app.appKey, collection: name })) {
        if (name !== FILES_COLLECTION) {
          await writer.writeMany(page);
          bar.increment(page.length);
          continue;
        }
        for (const stored of page) {
          const exported = await exportFile(deployment.objects, app.appKey, stored, dir, `${base}/files/${fileCount}`);
          if (exported.line) {
            await files.write(exported.line);
            entries.push(exported.entry as ManifestEntry);
            fileCount++;
            fileBytes += exported.line.size;
          }
          await writer.write(withoutStoredVariants(exported.record));
          bar.increment();
        }
      }
      bar.stop();
      const written = await writer.close();
      entries.push({ path: rel, bytes: written.bytes, sha256: written.sha256, lines: written.lines });
      collections.push({ name, path: rel, count: written.lines });
      entities += written.lines;
    }
    const filesWritten = await files.close();
    entries.push({
      path: `${base}/files.ndjson`,
      bytes: filesWritten.bytes,
      sha256: filesWritten.sha256,
      lines: filesWritten.lines,
    });
    manifestApps.push({
      appKey: app.appKey,
      name: app.name,
      definition: {
        appSecret: app.appSecret,
        masterSecret: app.masterSecret,
        collections: app.collections,
      },
      collections,
      files: { path: `${base}/files.ndjson`, count: fileCount, bytes: fileBytes },
    });
    result.apps.push({ appKey: app.appKey, entities, files: fileCount, fileBytes });
  }
  const manifest: Manifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    kinbaseVersion: kinbaseVersion(),
    exportId: randomUUID(),
    createdAt: new Date().toISOString(),
    consistency:
      deployment.config.documents.kind !== 'embedded' ? 'per-document' : deployment.snapshot ? 'snapshot' : 'exclusive',
    apps: manifestApps,
    entries,
  };
  // Last: a directory without manifest.json is an interrupted export, which import refuses.
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return result;
}

function selectApps(apps: readonly AppDefinition[], appKey: string | undefined): AppDefinition[] {
  if (appKey === undefined) {
    if (apps.length === 0) throw new CliError('the deployment has no app to export');
    return [...apps];
  }
  const app = apps.find((a) => a.appKey === appKey);
  if (!app) throw new CliError(`no app ${appKey} in this deployment (kinbase apps list shows them)`);
  return [app];
}

async function prepareEmptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await readdir(dir)).length > 0) throw new CliError(`${dir} is not empty: export into a new directory`);
}

interface ExportedFile {
  record: StoredDocument;
  line?: FileLine;
  entry?: ManifestEntry;
}

/**
 * A file record as exported (the upload in progress, which cannot be carried, left out) and its
 * bytes copied to `rel` with their checksums. A record from before generations gets one here.
 */
async function exportFile(
  objects: ObjectStore,
  appKey: string,
  stored: StoredDocument,
  dir: string,
  rel: string,
): Promise<ExportedFile> {
  const { [UPLOAD_FIELD]: _upload, ...record } = stored;
  // The bytes the record serves (servedKeyOf): its generation; the first upload's once its bytes
  // arrived (confirmed or not); the legacy key of a record from before generations.
  const open = openUploadOf(stored);
  const current = generationOf(stored) ?? (open?.generation && !open.baseline ? open.generation : undefined);
  const key = current
    ? objectKeyFor(appKey, stored._id, current)
    : open === undefined
      ? legacyObjectKeyFor(appKey, stored._id)
      : null;
  const stat = key ? await objects.stat(key) : null;
  const body = key && stat ? await objects.read(key) : null;
  if (!key || !stat || !body) {
    const { [GENERATION_FIELD]: _gone, ...withoutBytes } = record;
    return { record: withoutBytes };
  }
  const generation = current ?? newGeneration();
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  await pipeline(
    body,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        sha256.update(chunk);
        md5.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(path.join(dir, rel), { flags: 'wx', mode: 0o600 }),
  );
  const line: FileLine = {
    _id: stored._id,
    generation,
    path: rel,
    size,
    md5: md5.digest('hex'),
    contentType: stat.contentType,
    public: stored._public === true,
    ...(typeof stored._filename === 'string' ? { filename: stored._filename } : {}),
  };
  return {
    // The upload in progress is not carried: the record describes the bytes it serves.
    record: {
      ...record,
      [GENERATION_FIELD]: generation,
      ...(record._uploadState !== undefined
        ? { _uploadState: { status: 'complete', bytesReceived: size, md5: line.md5 } }
        : {}),
    },
    line,
    entry: { path: rel, bytes: size, sha256: sha256.digest('hex') },
  };
}
