/**
 * Which rows of the embedded engine can hold the documents a filter matches. A plan only narrows:
 * the store runs the MongoDB-semantics matcher on every candidate, so a plan must never miss a
 * match but may include non-matches. Filters no index serves get no plan (a streamed scan).
 *
 * A top-level `$and` is planned from its first clause only (plus `_id` conditions): the domain puts
 * the ACL filter first, so the rows a reader's own conditions would select among documents the
 * reader cannot read are never looked up (no index probe, no count) on its behalf.
 */
import type { Filter } from '../../../ports';
import { encodeKey, MAX_KEY_BYTES, scalarTag, typeBounds } from './index-keys';

export interface PlannedIndex {
  readonly ix: number;
  readonly sparse: boolean;
  readonly ready: boolean;
}

/** A run of index keys, `low` inclusive, `high` inclusive unless `highExclusive`. */
export interface KeyRange {
  kind: 'range';
  ix: number;
  low: Buffer;
  high: Buffer;
  highExclusive: boolean;
  /** Exactly the documents with this key match (a single-field equality, nothing else). */
  exact: boolean;
}

export interface IdSource {
  kind: 'ids';
  ids: string[];
}

export type Source = KeyRange | IdSource;

/** A union of sources; alternatives of an implicit AND are chosen by the store (smallest wins). */
export interface Plan {
  sources: Source[];
}

const MAX_SOURCES = 1000;

/** Alternative plans for `filter`, each alone a superset of its matches; empty when none serves it. */
export function planFilter(filter: Filter, indexFor: (field: string) => PlannedIndex | undefined): Plan[] {
  const alternatives: Plan[] = [];
  const entries = Object.entries(filter);
  for (const [key, value] of entries) {
    if (key === '$and' && Array.isArray(value) && value.length > 0) {
      alternatives.push(...planFilter(asFilter(value[0]), indexFor).map(inexact));
      for (const clause of value.slice(1)) {
        const id = asFilter(clause)._id;
        if (id !== undefined) alternatives.push(...nonNull(planField('_id', id, indexFor)));
      }
    } else if (key === '$or' && Array.isArray(value) && value.length > 0) {
      const union = planUnion(value.map(asFilter), indexFor);
      if (union) alternatives.push(union);
    } else if (!key.startsWith('$')) {
      alternatives.push(...nonNull(planField(key, value, indexFor)));
    }
  }
  // A single equality on one field and nothing else: its index rows are exactly the matches.
  return entries.length === 1 ? alternatives : alternatives.map(inexact);
}

function planUnion(branches: Filter[], indexFor: (field: string) => PlannedIndex | undefined): Plan | null {
  const sources: Source[] = [];
  for (const branch of branches) {
    // Each branch needs a plan; the cheapest guess is the first (unique fields come first in practice).
    const [plan] = planFilter(branch, indexFor);
    if (!plan) return null;
    for (const source of plan.sources) sources.push(branches.length > 1 && source.kind === 'range' ? { ...source, exact: false } : source);
    if (sources.length > MAX_SOURCES) return null;
  }
  return { sources };
}

function planField(field: string, condition: unknown, indexFor: (field: string) => PlannedIndex | undefined): Plan | null {
  if (field === '_id') return planIds(condition);
  if (field.split('.').some((segment) => segment.length === 0 || /^\d+$/.test(segment) || segment.startsWith('$'))) return null;
  const index = indexFor(field);
  if (!index || !index.ready) return null;
  const keyRanges = rangesFor(condition, index);
  return keyRanges && keyRanges.length <= MAX_SOURCES ? { sources: keyRanges } : null;
}

function planIds(condition: unknown): Plan | null {
  if (typeof condition === 'string') return { sources: [{ kind: 'ids', ids: [condition] }] };
  if (!isOperatorObject(condition)) return null;
  if (typeof condition.$eq === 'string') return { sources: [{ kind: 'ids', ids: [condition.$eq] }] };
  const wanted = condition.$in;
  if (Array.isArray(wanted) && wanted.length <= MAX_SOURCES * 10) {
    // Non-string members can never equal a stored _id (always a string).
    return { sources: [{ kind: 'ids', ids: wanted.filter((id): id is string => typeof id === 'string') }] };
  }
  return null;
}

function rangesFor(condition: unknown, index: PlannedIndex): KeyRange[] | null {
  if (!isOperatorObject(condition)) return equality(condition, index);
  if (Object.hasOwn(condition, '$eq')) {
    const eq = equality(condition.$eq, index);
    if (eq) return Object.keys(condition).length === 1 ? eq : eq.map((r) => ({ ...r, exact: false }));
  }
  if (Array.isArray(condition.$in)) {
    const members = condition.$in.map((member) => equality(member, index));
    if (members.every((m): m is KeyRange[] => m !== null)) return members.flat().map((r) => ({ ...r, exact: false }));
  }
  return comparisonRange(condition, index);
}

function equality(value: unknown, index: PlannedIndex): KeyRange[] | null {
  if (scalarTag(value) === null) return null;
  if (value === null && index.sparse) return null; // sparse indexes hold no row for a missing field
  const { key } = encodeKey(value);
  return [{ kind: 'range', ix: index.ix, low: key, high: key, highExclusive: false, exact: key.length < MAX_KEY_BYTES }];
}

/** `$gt`/`$gte`/`$lt`/`$lte` within one type class (MongoDB never compares across types). */
function comparisonRange(ops: Record<string, unknown>, index: PlannedIndex): KeyRange[] | null {
  let tag: number | null = null;
  let low: Buffer | null = null;
  let high: Buffer | null = null;
  for (const op of ['$gt', '$gte', '$lt', '$lte'] as const) {
    if (!Object.hasOwn(ops, op)) continue;
    const operandTag = scalarTag(ops[op]);
    if (operandTag === null || (tag !== null && operandTag !== tag)) return null;
    tag = operandTag;
    const { key } = encodeKey(ops[op]);
    if (op === '$gt' || op === '$gte') low = low && Buffer.compare(low, key) > 0 ? low : key;
    else high = high && Buffer.compare(high, key) < 0 ? high : key;
  }
  if (tag === null || (tag === 0x01 && index.sparse)) return null;
  const bounds = typeBounds(tag);
  // Bounds are inclusive even for $gt/$lt (a cut key may hide a larger value); the matcher decides.
  return [{ kind: 'range', ix: index.ix, low: low ?? bounds.low, high: high ?? bounds.high, highExclusive: high === null, exact: false }];
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date || value instanceof RegExp) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function asFilter(value: unknown): Filter {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Filter) : {};
}

function inexact(plan: Plan): Plan {
  return { sources: plan.sources.map((source) => (source.kind === 'range' ? { ...source, exact: false } : source)) };
}

function nonNull(plan: Plan | null): Plan[] {
  return plan ? [plan] : [];
}
