/**
 * The portable export directory (`kinbase export`, read by `kinbase import`):
 *
 *   manifest.json                     written last: its presence marks a complete export
 *   apps/<n>/collections/<name>.ndjson one line per stored document, exactly as stored
 *   apps/<n>/files.ndjson             one line per file with bytes: id, generation, where, md5
 *   apps/<n>/files/<m>                the bytes of one file
 *
 * Documents are JSON with Dates as `{"$date": <ms>}` (stored field names never start with `$`,
 * so the marker cannot be confused with data), the way the embedded store keeps them.
 */
import path from 'node:path';
import { IMAGE_INFO_FIELD } from '../../domain/files/file-metadata';

export const FORMAT = 'kinbase-export';
export const FORMAT_VERSION = 1;

/**
 * Internal collections that are not carried: sessions and MFA login sessions (users sign in again
 * on the target), delta set tombstones and tracking (delta sets start fresh: an older `since` is
 * refused and the client reads the whole collection), the scheduler's lease, the import marker,
 * account-mail links (a link mailed by the source must not work on the target), and the counters
 * and logs instances share on MongoDB (failed logins, Business Logic's recent failures).
 */
export const TRANSIENT_COLLECTIONS: ReadonlySet<string> = new Set([
  '_session',
  '_mfa_session',
  '_tombstone',
  '_kinbaseSchedule',
  '_kinbaseImport',
  '_accountLink',
  '_kinbaseEvents',
  '_kinbaseLogs',
]);

/** The internal collections an export carries: users, passwords, groups, roles, files, MFA state. */
export const CARRIED_INTERNAL: ReadonlySet<string> = new Set([
  'user',
  '_credential',
  '_group',
  '_role',
  '_roleMember',
  '_blob',
  '_mfa_authenticator',
  '_mfa_recovery_code',
  '_mfa_device',
]);

/** An app's own collections (checkAppdataCollection's rule). */
const APPDATA_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Whether an export (or a pull) may write a collection of this name: an app's own, or a carried internal one. */
export function isImportableCollection(name: unknown): name is string {
  return typeof name === 'string' && (CARRIED_INTERNAL.has(name) || (APPDATA_NAME.test(name) && name !== 'user'));
}

/**
 * A file record as exported: the image facts of its bytes (size, ThumbHash) travel, the list of
 * stored variants does not, since variant objects are not exported: the target makes them again
 * on first request instead of linking objects it does not have.
 */
export function withoutStoredVariants(record: Record<string, unknown>): Record<string, unknown> {
  const info = Object.hasOwn(record, IMAGE_INFO_FIELD) ? record[IMAGE_INFO_FIELD] : undefined;
  if (!info || typeof info !== 'object' || Array.isArray(info) || !Object.hasOwn(info, 'variants')) return record;
  const { variants: _stored, ...facts } = info as Record<string, unknown>;
  return { ...record, [IMAGE_INFO_FIELD]: facts };
}

/** One file of the export with its checksum. */
export interface ManifestEntry {
  /** Relative to the export directory, '/'-separated. */
  path: string;
  bytes: number;
  sha256: string;
  /** NDJSON files: how many lines (documents) it holds. */
  lines?: number;
}

export interface ManifestApp {
  appKey: string;
  name: string;
  /** The app's keys and collection settings, so an import into a data dir can recreate the app. */
  definition: { appSecret: string; masterSecret: string; collections: Record<string, unknown> };
  collections: { name: string; path: string; count: number }[];
  files: { path: string; count: number; bytes: number };
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: number;
  kinbaseVersion: string;
  exportId: string;
  createdAt: string;
  /**
   * `exclusive`: nothing could write during the export; `snapshot`: the state of one moment of a
   * running server; `per-document`: see docs/backups.md.
   */
  consistency: 'exclusive' | 'snapshot' | 'per-document';
  apps: ManifestApp[];
  entries: ManifestEntry[];
}

/** One line of files.ndjson. */
export interface FileLine {
  _id: string;
  generation: string;
  path: string;
  size: number;
  md5: string;
  contentType: string;
  public: boolean;
  filename?: string;
}

/** JSON text of a document, Dates as `{"$date": ms}`. */
export function encodeDocument(doc: unknown): string {
  // The replacer costs a call per value: only documents holding a Date pay it.
  if (!holdsDate(doc)) return JSON.stringify(doc);
  return JSON.stringify(doc, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : value;
  });
}

function holdsDate(value: unknown): boolean {
  if (value instanceof Date) return true;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsDate);
  for (const key in value) if (holdsDate((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** The document of one line; `{"$date": ms}` becomes a Date. Throws SyntaxError on bad JSON. */
export function decodeDocument(line: string): unknown {
  if (!line.includes('"$date"')) return JSON.parse(line);
  return JSON.parse(line, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const marker = value as Record<string, unknown>;
      if (typeof marker.$date === 'number' && Object.keys(marker).length === 1) return new Date(marker.$date);
    }
    return value;
  });
}

/** A collection name as a file name: never a path, whatever the name holds. */
export function collectionFileName(name: string): string {
  return `${encodeURIComponent(name).replace(/\./g, '%2E')}.ndjson`;
}

/**
 * The absolute path of a manifest entry inside `dir`, or null if the entry would leave it (an
 * absolute path, `..`, a backslash): a foreign manifest never makes import read outside the export.
 */
export function entryPath(dir: string, relative: string): string | null {
  if (typeof relative !== 'string' || relative.length === 0 || relative.length > 1024) return null;
  if (relative.includes('\\') || relative.includes('\0') || path.isAbsolute(relative)) return null;
  const segments = relative.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  return path.join(dir, ...segments);
}
