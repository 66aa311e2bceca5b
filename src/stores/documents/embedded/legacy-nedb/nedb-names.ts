/**
 * File names of the nedb store kinbase had before SQLite: `documents/<app>/<collection>.db`, each
 * name written by its safeSegment (characters outside [A-Za-z0-9_.-] and a leading dot as `~XX`
 * per UTF-8 byte). Kept here, frozen: it describes files already on disk, which the migration reads.
 */

/** The old store's safeSegment, inverted; null for anything it could not have produced. */
export function decodeSegment(segment: string): string | null {
  if (!/^(?:[A-Za-z0-9_.-]|~[0-9A-F]{2})+$/u.test(segment)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i += 1) {
    if (segment[i] === '~') {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(segment.charCodeAt(i));
    }
  }
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
  // Exactness: `~41` decodes to "A", but the old store would have written "A" itself.
  return encodeSegment(name) === segment ? name : null;
}

/** The old store's safeSegment (kept here, frozen: it describes files already on disk). */
export function encodeSegment(name: string): string {
  return name.replace(/^\.|[^A-Za-z0-9_.-]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((byte) => `~${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}
