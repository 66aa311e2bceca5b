/**
 * How an entity's values look in the table: compact text for scalars, short JSON for objects,
 * and KinveyFile references (at any depth of a field) as a thumbnail, a name and a link.
 */
import type { ComponentChildren } from 'preact';
import { safeUrl } from '../api';
import { formatDate } from '../components/common';
import { placeholderStyle, tileUrlOf } from '../components/image-preview';

export type Entity = Record<string, unknown> & {
  _id?: string;
  _acl?: Record<string, unknown>;
  _kmd?: Record<string, unknown>;
};

/** A KinveyFile reference as kinbase expands it on read. */
export interface FileRef {
  _type: 'KinveyFile';
  _id: string;
  _filename?: string;
  _downloadURL?: string;
  mimeType?: string;
  _placeholder?: unknown;
  _variants?: unknown;
}

const SHORT_JSON = 80;
/** References shown per cell before "+N more". */
const MAX_REFS = 3;
/** How deep a cell looks for references (the server caps nesting too). */
const MAX_DEPTH = 8;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isFileRef(value: unknown): value is FileRef {
  return isObject(value) && value._type === 'KinveyFile' && typeof value._id === 'string';
}

/** Every KinveyFile reference inside a value, depth-first, in document order. */
export function findFileRefs(value: unknown, found: FileRef[] = [], depth = 0): FileRef[] {
  if (depth > MAX_DEPTH) return found;
  if (isFileRef(value)) found.push(value);
  else if (Array.isArray(value)) for (const item of value) findFileRefs(item, found, depth + 1);
  else if (isObject(value)) for (const item of Object.values(value)) findFileRefs(item, found, depth + 1);
  return found;
}

/**
 * The columns of a page: `_id` first, then the fields holding file references (their thumbnails
 * are what a reader looks for first), then the other keys in first-seen order, `_acl` and `_kmd` last.
 */
export function columnsOf(rows: readonly Entity[]): string[] {
  const seen = new Set<string>();
  const withFiles = new Set<string>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      seen.add(key);
      if (key !== '_acl' && key !== '_kmd' && !withFiles.has(key) && findFileRefs(value).length > 0) withFiles.add(key);
    }
  }
  const middle = [...seen].filter((k) => k !== '_id' && k !== '_acl' && k !== '_kmd' && !withFiles.has(k));
  return ['_id', ...withFiles, ...middle, ...(seen.has('_acl') ? ['_acl'] : []), ...(seen.has('_kmd') ? ['_kmd'] : [])];
}

/** The field a column header sorts by (`_kmd` sorts by its last-modified time). */
export function sortFieldOf(column: string): string | null {
  if (column === '_kmd') return '_kmd.lmt';
  if (column === '_acl') return null;
  return column;
}

export function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHORT_JSON ? `${text.slice(0, SHORT_JSON - 1)}…` : text;
}

function isImage(ref: FileRef): boolean {
  return typeof ref.mimeType === 'string' && ref.mimeType.startsWith('image/');
}

export function FileRefLink({ file }: { file: FileRef }) {
  const name = file._filename ?? file._id;
  const body = (
    <>
      {isImage(file) && file._downloadURL ? (
        <img class="thumb" src={safeUrl(tileUrlOf(file))} style={placeholderStyle(file)} alt="" loading="lazy" />
      ) : (
        <span class="thumb file-icon" aria-hidden="true">
          {extensionOf(name)}
        </span>
      )}
      <span class="file-name">{name}</span>
    </>
  );
  if (!file._downloadURL)
    return (
      <span class="file-ref" title="Not readable or not uploaded yet">
        {body}
      </span>
    );
  return (
    <a
      class="file-ref"
      href={safeUrl(file._downloadURL)}
      target="_blank"
      rel="noopener"
      title={name}
      onClick={(e) => e.stopPropagation()}
    >
      {body}
    </a>
  );
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && name.length - dot <= 5 ? name.slice(dot + 1).toUpperCase() : 'FILE';
}

/** One table cell's content. */
export function Cell({ column, value }: { column: string; value: unknown }): ComponentChildren {
  if (value === undefined) return <span class="muted">—</span>;
  if (column === '_kmd' && isObject(value)) return <span title={shortJson(value)}>{formatDate(value.lmt)}</span>;
  if (column === '_acl' && isObject(value))
    return (
      <span class="mono" title={JSON.stringify(value)}>
        {aclSummary(value)}
      </span>
    );
  const refs = findFileRefs(value);
  if (refs.length > 0) {
    return (
      <span class="file-refs">
        {refs.slice(0, MAX_REFS).map((ref, i) => (
          <FileRefLink key={`${ref._id}-${i}`} file={ref} />
        ))}
        {refs.length > MAX_REFS && <span class="muted">+{refs.length - MAX_REFS} more</span>}
      </span>
    );
  }
  if (value === null) return <span class="muted mono">null</span>;
  if (typeof value === 'string') return <span title={value.length > 40 ? value : undefined}>{value}</span>;
  if (typeof value === 'number' || typeof value === 'boolean')
    return <span class={`mono ${typeof value}`}>{String(value)}</span>;
  return (
    <span class="mono" title={JSON.stringify(value)}>
      {shortJson(value)}
    </span>
  );
}

function aclSummary(acl: Record<string, unknown>): string {
  const parts: string[] = [];
  if (acl.gr === true) parts.push('gr');
  if (acl.gw === true) parts.push('gw');
  const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  if (count(acl.r)) parts.push(`r:${count(acl.r)}`);
  if (count(acl.w)) parts.push(`w:${count(acl.w)}`);
  const groups = isObject(acl.groups) ? acl.groups : {};
  if (count(groups.r) || count(groups.w)) parts.push(`groups:${count(groups.r) + count(groups.w)}`);
  return parts.length ? parts.join(' · ') : 'creator only';
}
