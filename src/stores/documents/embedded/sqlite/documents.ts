/**
 * Documents as the embedded engine stores them: JSON text, with Dates kept as `{"$date": ms}`
 * (stored field names never start with `$`, so the marker cannot be confused with data) and a
 * flag so that only documents holding a Date pay for a reviver when read.
 */
import { StoreError, type StoredDocument } from '../../../../domain/ports';

export interface EncodedDocument {
  body: string;
  dates: boolean;
}

/** JSON text of a document; refuses field names MongoDB refuses (leading `$`, or a `.`). */
export function encodeDocument(doc: StoredDocument): EncodedDocument {
  let dates = false;
  const markers = new WeakSet<object>();
  const body = JSON.stringify(doc, function (this: unknown, key: string, value: unknown) {
    const holder = this as Record<string, unknown>;
    if (
      key.length > 0 &&
      !Array.isArray(holder) &&
      !markers.has(holder) &&
      (key.charCodeAt(0) === 36 || key.includes('.'))
    ) {
      throw new StoreError(
        'invalid',
        `Field names cannot begin with $ or contain a dot: ${JSON.stringify(key.slice(0, 60))}`,
      );
    }
    const raw = holder[key];
    if (raw instanceof Date) {
      dates = true;
      const marker = { $date: raw.getTime() };
      markers.add(marker);
      return marker;
    }
    return value;
  });
  return { body, dates };
}

export function decodeDocument(body: string, dates: number | boolean): StoredDocument {
  if (!dates) return JSON.parse(body) as StoredDocument;
  return JSON.parse(body, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const marker = value as Record<string, unknown>;
      if (typeof marker.$date === 'number' && Object.keys(marker).length === 1) return new Date(marker.$date);
    }
    return value;
  }) as StoredDocument;
}

/**
 * Sets dotted fields as MongoDB's `$set` does, creating missing intermediate objects. Own
 * properties only, defined (never assigned), so no segment can reach a prototype.
 */
export function setFields(doc: StoredDocument, fields: Record<string, unknown>): StoredDocument {
  for (const [dotted, value] of Object.entries(fields)) {
    const segments = dotted.split('.');
    let node: Record<string, unknown> = doc;
    for (const segment of segments.slice(0, -1)) {
      const next = Object.hasOwn(node, segment) ? node[segment] : undefined;
      if (typeof next === 'object' && next !== null && !(next instanceof Date)) node = next as Record<string, unknown>;
      else node = define(node, segment, {}) as Record<string, unknown>;
    }
    define(node, segments[segments.length - 1] as string, value);
  }
  return doc;
}

function define(node: Record<string, unknown>, key: string, value: unknown): unknown {
  Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
  return value;
}
