/**
 * The Content-Disposition an object is stored with, so the bucket serves it the way kinbase's own
 * storage routes serve local files (http/routes/storage): types a browser could execute or render
 * as a document are attachments, everything else inline, with the file's name.
 */

// The same list as the local storage routes' (the http layer, which stores may not import).
const ACTIVE_CONTENT =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z]+\/[a-z0-9.+-]*\+xml|text\/javascript|application\/(x-)?javascript|application\/ecmascript|text\/ecmascript)$/;

/** RFC 6266 / RFC 5987: an ASCII fallback plus the exact UTF-8 name (header-safe: ASCII only). */
export function contentDisposition(contentType: string, filename: string | undefined): string {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const type = ACTIVE_CONTENT.test(mediaType) ? 'attachment' : 'inline';
  if (!filename) return type;
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
