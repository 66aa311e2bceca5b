/**
 * Reading an export back before anything is written: the manifest's shape and format version,
 * then every file it lists, each line parsed and every checksum compared. The first problem is a
 * CliError naming the file (and line).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../output';
import {
  FORMAT,
  FORMAT_VERSION,
  decodeDocument,
  entryPath,
  isImportableCollection,
  type FileLine,
  type Manifest,
} from './format';
import { LineError, readLines } from './ndjson';

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

/** The manifest of `dir`, checked for shape and version. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, 'manifest.json');
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new CliError(`${file} is missing: not a kinbase export, or an export that did not finish`);
  }
  if (info.size > MAX_MANIFEST_BYTES) throw new CliError(`${file} is larger than any kinbase manifest`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== FORMAT)
    throw new CliError(`${file} is not a kinbase export manifest (format is not "${FORMAT}")`);
  if (manifest.formatVersion !== FORMAT_VERSION)
    throw new CliError(
      `${file} has format version ${JSON.stringify(manifest.formatVersion)}; this kinbase reads version ${FORMAT_VERSION}`,
    );
  if (!Array.isArray(manifest.apps) || !Array.isArray(manifest.entries) || typeof manifest.exportId !== 'string')
    throw new CliError(`${file} lacks apps, entries or exportId`);
  for (const entry of manifest.entries) {
    if (!entryPath(dir, entry?.path))
      throw new CliError(`${file} names a path outside the export: ${JSON.stringify(entry?.path)}`);
    if (!SHA256.test(String(entry.sha256)) || !Number.isSafeInteger(entry.bytes))
      throw new CliError(`${file}: entry ${entry.path} lacks a sha256 or a size`);
  }
  for (const app of manifest.apps) {
    if (typeof app?.appKey !== 'string' || !Array.isArray(app.collections) || typeof app.files?.path !== 'string')
      throw new CliError(`${file}: an app entry lacks appKey, collections or files`);
    for (const collection of app.collections)
      if (!isImportableCollection(collection?.name) || typeof collection.path !== 'string')
        throw new CliError(
          `${file}: app ${app.appKey} names a collection kinbase does not import: ${JSON.stringify(collection?.name)}`,
        );
    for (const listed of [...app.collections.map((c) => c.path), app.files.path])
      if (!manifest.entries.some((e) => e.path === listed))
        throw new CliError(`${file}: ${listed} has no checksum entry`);
  }
  return manifest;
}

/**
 * Checks every entry of `manifest` that belongs to `apps`: NDJSON files line by line (each a JSON
 * object with a string `_id`; file lines complete and pointing at a listed entry), every file's
 * size and sha256. `onBytes` reports progress.
 */
export async function verifyExport(
  dir: string,
  manifest: Manifest,
  appKeys: ReadonlySet<string>,
  onBytes: (bytes: number) => void = () => undefined,
): Promise<void> {
  const entries = new Map(manifest.entries.map((e) => [e.path, e]));
  const ndjson = new Set<string>();
  const fileIndexes = new Set<string>();
  const wanted = new Set<string>();
  for (const app of manifest.apps.filter((a) => appKeys.has(a.appKey))) {
    for (const c of app.collections) {
      ndjson.add(c.path);
      wanted.add(c.path);
    }
    ndjson.add(app.files.path);
    fileIndexes.add(app.files.path);
    wanted.add(app.files.path);
  }
  const bytePaths = new Set<string>();
  for (const rel of ndjson) {
    const entry = entries.get(rel);
    const file = entryPath(dir, rel) as string;
    const hash = createHash('sha256');
    let lines = 0;
    try {
      for await (const { line, text } of readLines(file, hash)) {
        lines = line;
        let doc: unknown;
        try {
          doc = decodeDocument(text);
        } catch (err) {
          throw new LineError(line, `not JSON (${(err as Error).message})`);
        }
        if (
          typeof doc !== 'object' ||
          doc === null ||
          Array.isArray(doc) ||
          typeof (doc as { _id?: unknown })._id !== 'string'
        )
          throw new LineError(line, 'not a document with a string _id');
        if (fileIndexes.has(rel)) bytePaths.add(checkFileLine(doc as FileLine, entries, line));
      }
    } catch (err) {
      if (err instanceof LineError) throw new CliError(`${file} ${err.message}; nothing was imported`);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new CliError(`${file} is missing; nothing was imported`);
      throw err;
    }
    const sha256 = hash.digest('hex');
    if (entry && (lines !== entry.lines || sha256 !== entry.sha256))
      throw new CliError(
        `${file} does not match its checksum in manifest.json (${lines} lines, sha256 ${sha256}); nothing was imported`,
      );
  }
  for (const rel of bytePaths)
    await verifyBytes(dir, rel, entries.get(rel) as { bytes: number; sha256: string }, onBytes);
}

function checkFileLine(line: FileLine, entries: Map<string, unknown>, at: number): string {
  const ok =
    typeof line.generation === 'string' &&
    /^[A-Za-z0-9_-]{16,64}$/.test(line.generation) &&
    typeof line.path === 'string' &&
    entries.has(line.path) &&
    Number.isSafeInteger(line.size) &&
    /^[0-9a-f]{32}$/.test(String(line.md5)) &&
    typeof line.contentType === 'string' &&
    typeof line.public === 'boolean';
  if (!ok)
    throw new LineError(
      at,
      'not a complete file line (generation, path with a checksum entry, size, md5, contentType, public)',
    );
  return line.path;
}

async function verifyBytes(
  dir: string,
  rel: string,
  entry: { bytes: number; sha256: string },
  onBytes: (bytes: number) => void,
): Promise<void> {
  const file = entryPath(dir, rel) as string;
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(`${file} is missing; nothing was imported`);
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== entry.bytes || sha256 !== entry.sha256)
    throw new CliError(
      `${file} does not match its checksum in manifest.json (${bytes} bytes, sha256 ${sha256}); nothing was imported`,
    );
}
