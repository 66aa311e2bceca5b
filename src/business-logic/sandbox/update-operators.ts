/**
 * The MongoDB update operators collectionAccess.update supports ($set, $unset, $inc, $push with
 * $each), applied in the host to a copy of each matched document, so both document stores behave
 * the same and no update operator ever reaches a store unchecked.
 */
import type { Filter } from '../../domain/ports';
import { isPlainObject } from '../../domain/access/acl';
import { isReservedKey } from '../../domain/access/safe-keys';

const OPERATORS = new Set(['$set', '$unset', '$inc', '$push']);

/** Whether `update` is an operator update (`{$set: ...}`) rather than a replacement; mixing throws. */
export function isOperatorUpdate(update: Record<string, unknown>): boolean {
  const keys = Object.keys(update);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length === 0) return false;
  if (operators.length !== keys.length) throw new Error('An update document mixes operators and fields.');
  for (const op of operators) {
    if (!OPERATORS.has(op))
      throw new Error(`Update operator ${op.slice(0, 40)} is not supported (supported: ${[...OPERATORS].join(', ')}).`);
  }
  return true;
}

/** Applies an operator update to `doc` (changed in place and returned). */
export function applyUpdate(doc: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  for (const [op, fields] of Object.entries(update)) {
    if (!isPlainObject(fields)) throw new Error(`${op} needs an object of fields.`);
    for (const [path, value] of Object.entries(fields)) {
      const { parent, key } = walk(doc, path, op !== '$unset');
      if (!parent) continue;
      const current = Object.hasOwn(parent, key) ? parent[key] : undefined;
      switch (op) {
        case '$set':
          define(parent, key, value);
          break;
        case '$unset':
          delete parent[key];
          break;
        case '$inc':
          if (typeof value !== 'number') throw new Error(`$inc needs a number for ${path}.`);
          if (current !== undefined && typeof current !== 'number') throw new Error(`$inc: ${path} is not a number.`);
          define(parent, key, (current ?? 0) + value);
          break;
        case '$push': {
          if (current !== undefined && !Array.isArray(current)) throw new Error(`$push: ${path} is not an array.`);
          const items = isPlainObject(value) && Array.isArray(value.$each) ? (value.$each as unknown[]) : [value];
          define(parent, key, [...((current as unknown[] | undefined) ?? []), ...items]);
          break;
        }
      }
    }
  }
  return doc;
}

/** The document an upsert starts from: the query's top-level equality fields. */
export function upsertBase(filter: Filter): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) continue;
    define(base, key, value);
  }
  return base;
}

/**
 * The object holding the last segment of a dotted path, creating objects on the way when asked.
 * `__proto__`, `constructor`, `prototype` and `$` segments are refused: a path is never a way to
 * reach a prototype. `_id` cannot be updated.
 */
function walk(
  doc: Record<string, unknown>,
  path: string,
  create: boolean,
): { parent: Record<string, unknown> | null; key: string } {
  const segments = path.split('.');
  if (segments[0] === '_id') throw new Error('_id cannot be updated.');
  for (const segment of segments) {
    if (segment === '' || segment.startsWith('$') || isReservedKey(segment))
      throw new Error(`The update path ${path.slice(0, 100)} is not allowed.`);
  }
  let parent: Record<string, unknown> = doc;
  for (const segment of segments.slice(0, -1)) {
    const next = Object.hasOwn(parent, segment) ? parent[segment] : undefined;
    if (isPlainObject(next)) {
      parent = next;
    } else if (next === undefined && create) {
      const created: Record<string, unknown> = {};
      define(parent, segment, created);
      parent = created;
    } else if (next === undefined) {
      return { parent: null, key: '' };
    } else {
      throw new Error(`The update path ${path.slice(0, 100)} crosses a value that is not an object.`);
    }
  }
  return { parent, key: segments[segments.length - 1] as string };
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
