/**
 * Image tiles load the `thumb` variant kinbase names in `_variants` (asked for with
 * `kinveyfile_variants=thumb`, see Api.readWithThumbs) instead of the original, and paint the
 * file's ThumbHash `_placeholder` underneath at once, so a tile shows its colours before any byte
 * of the image arrives. Files without them (not images kinbase decodes) keep their original link.
 */
import { thumbHashToDataURL } from 'thumbhash';

/** The fields of a file record or an expanded KinveyFile reference that previews use. */
export interface Previewable {
  _downloadURL?: string;
  _variants?: unknown;
  _placeholder?: unknown;
}

/** The URL a tile loads: the `thumb` variant's when the server gave one, else the original's. */
export function tileUrlOf(file: Previewable): string | undefined {
  const variants = file._variants as { thumb?: { _downloadURL?: unknown } } | undefined;
  const thumb = variants?.thumb?._downloadURL;
  return typeof thumb === 'string' ? thumb : file._downloadURL;
}

/**
 * A CSS background painting the file's placeholder under its tile, or undefined. An object, not a
 * string: Preact applies it through the CSSOM, which the console's `style-src 'self'` allows.
 */
export function placeholderStyle(file: Previewable): Record<string, string> | undefined {
  const placeholder = file._placeholder as { thumbhash?: unknown } | undefined;
  if (typeof placeholder?.thumbhash !== 'string') return undefined;
  try {
    const bytes = Uint8Array.from(atob(placeholder.thumbhash), (c) => c.charCodeAt(0));
    // A PNG data URL built by thumbhash itself: nothing of the server's text reaches the CSS.
    return { backgroundImage: `url("${thumbHashToDataURL(bytes)}")`, backgroundSize: 'cover' };
  } catch {
    return undefined;
  }
}
