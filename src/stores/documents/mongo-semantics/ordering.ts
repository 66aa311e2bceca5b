/**
 * MongoDB's result ordering and inclusion projection, for stores that sort and project themselves.
 */
import type { SortSpec, StoredDocument } from '../../../domain/ports';
import { candidatesAt, compareStrings, compareValues, isPlainObject } from './values';

/**
 * Sorts documents by `sort` and then `_id` ascending (always, so the order is stable for paging).
 * For an array at a sort key, ascending uses its smallest element and descending its largest;
 * an empty array sorts before null, as in MongoDB. Returns a new array.
 */
export function sortDocuments<T extends StoredDocument>(docs: readonly T[], sort: SortSpec = []): T[] {
  const keys = sort.filter(([field], i) => sort.findIndex(([other]) => other === field) === i);
  const withKeys = docs.map((doc) => ({ doc, keys: keys.map(([field, direction]) => sortKey(doc, field, direction)) }));
  withKeys.sort((x, y) => {
    for (let i = 0; i < keys.length; i += 1) {
      const order = compareSortKeys(x.keys[i], y.keys[i]) * (keys[i] as readonly [string, 1 | -1])[1];
      if (order !== 0) return order;
    }
    return compareStrings(x.doc._id, y.doc._id);
  });
  return withKeys.map((entry) => entry.doc);
}

const EMPTY_ARRAY = Symbol('empty array');

function sortKey(doc: unknown, field: string, direction: 1 | -1): unknown {
  const values = candidatesAt(doc, field.split('.'));
  const leaves = values.filter((c) => !(Array.isArray(c.value) && !c.expanded)).map((c) => c.value);
  if (leaves.length === 0) return values.some((c) => Array.isArray(c.value)) ? EMPTY_ARRAY : null;
  let best = leaves[0];
  for (const value of leaves.slice(1)) {
    const order = compareValues(value, best);
    if (direction === 1 ? order < 0 : order > 0) best = value;
  }
  return best;
}

function compareSortKeys(a: unknown, b: unknown): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compareValues(a, b);
}

/** Drops `_id`, duplicates and fields nested under another listed field (MongoDB rejects those overlaps). */
export function normalizeFields(fields: readonly string[]): string[] {
  const unique = [...new Set(fields.filter((f) => f !== '_id' && f.length > 0))];
  return unique.filter((f) => !unique.some((other) => other !== f && f.startsWith(`${other}.`)));
}

type FieldTree = { [segment: string]: FieldTree | true };

/**
 * Returns `_id` plus the listed (possibly dotted) fields, keeping the document's own field order.
 * Through arrays a dotted field projects every object element, as MongoDB's inclusion projection does.
 */
export function projectDocument(doc: StoredDocument, fields: readonly string[]): StoredDocument {
  // Null-prototype nodes: a segment such as `__proto__` is an ordinary key here, never the
  // prototype of the tree (the domain refuses such segments too).
  const tree: FieldTree = Object.create(null) as FieldTree;
  for (const field of normalizeFields(fields)) {
    const segments = field.split('.');
    let node = tree;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) node[segment] = true;
      else
        node = node[segment] = (
          node[segment] === true || node[segment] === undefined ? Object.create(null) : node[segment]
        ) as FieldTree;
    });
  }
  return { _id: doc._id, ...projectObject(doc, tree) };
}

function projectObject(value: Record<string, unknown>, tree: FieldTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const spec = Object.hasOwn(tree, key) ? tree[key] : undefined;
    if (spec === undefined) continue;
    if (spec === true) out[key] = child;
    else if (Array.isArray(child)) out[key] = projectArray(child, spec);
    else if (isPlainObject(child)) out[key] = projectObject(child, spec);
  }
  return out;
}

function projectArray(values: unknown[], tree: FieldTree): unknown[] {
  return values.flatMap((v): unknown[] =>
    Array.isArray(v) ? [projectArray(v, tree)] : isPlainObject(v) ? [projectObject(v, tree)] : [],
  );
}
