/** What the Files views share: the file record as `/blob` returns it, and its badges. */
import { safeUrl } from '../api';
import { formatBytes } from '../components/common';
import { placeholderStyle, tileUrlOf } from '../components/image-preview';

export interface BlobAcl {
  creator?: string;
  gr?: boolean;
  gw?: boolean;
  r?: string[];
  w?: string[];
  groups?: { r?: string[]; w?: string[] };
}

export interface BlobFile {
  _id: string;
  _filename?: string;
  mimeType?: string;
  size?: number;
  _public?: boolean;
  _acl?: BlobAcl;
  _kmd?: { lmt?: string; ect?: string };
  _downloadURL?: string;
  _expiresAt?: string;
  /** The image's ThumbHash and size (images kinbase decodes). */
  _placeholder?: { thumbhash: string; width: number; height: number };
  /** Variant links asked for with `kinveyfile_variants`. */
  _variants?: Record<string, { _downloadURL: string; width: number; height: number; mimeType: string }>;
  _uploadState?: {
    status?: 'pending' | 'complete' | 'rejected';
    bytesReceived?: number;
    md5?: string | null;
    /** While a re-upload is open: the bytes still served (a metadata-only PUT leaves these). */
    previous?: { size: number; md5: string };
  };
  [field: string]: unknown;
}

/**
 * Metadata saved, bytes not (yet) arrived: `_uploadState.status` is `pending` and no previous
 * bytes are served meanwhile (after a metadata-only PUT the file is whole, only a re-upload URL is open).
 */
export function isPending(file: BlobFile): boolean {
  return file._uploadState?.status === 'pending' && !file._uploadState.previous;
}

export function isImage(file: BlobFile): boolean {
  return (
    typeof file.mimeType === 'string' &&
    /^image\/(png|jpe?g|gif|webp|avif|bmp|x-icon)$/i.test(file.mimeType) &&
    !isPending(file) &&
    !!file._downloadURL
  );
}

export function displayName(file: BlobFile): string {
  return file._filename ?? file._id;
}

/** The short label on a preview without a thumbnail: the file's extension or its type. */
export function typeLabel(file: BlobFile): string {
  const ext = /\.([a-z0-9]{1,6})$/i.exec(file._filename ?? '')?.[1];
  if (ext) return ext.toUpperCase();
  return (file.mimeType ?? 'file').split('/')[1]?.toUpperCase() ?? 'FILE';
}

export function FileBadges({ file }: { file: BlobFile }) {
  const state = file._uploadState?.status;
  return (
    <span class="row files-badges">
      {file._public ? <span class="badge public">public</span> : <span class="badge private">private</span>}
      {isPending(file) && (
        <span
          class="badge pending"
          data-testid="pending-badge"
          title={`${formatBytes(file._uploadState?.bytesReceived ?? 0)} received`}
        >
          pending
        </span>
      )}
      {state === 'rejected' && <span class="badge disabled">rejected</span>}
    </span>
  );
}

/** Thumbnail for images (the `thumb` variant over its placeholder, else the original), else a type label. */
export function Preview({ file, small }: { file: BlobFile; small?: boolean }) {
  if (isImage(file))
    return (
      <img
        class={small ? 'thumb' : undefined}
        src={safeUrl(tileUrlOf(file))}
        style={placeholderStyle(file)}
        alt={displayName(file)}
        loading="lazy"
        decoding="async"
      />
    );
  return (
    <span class={small ? 'thumb files-type' : 'files-type'} aria-hidden="true">
      {isPending(file) ? '…' : typeLabel(file)}
    </span>
  );
}
