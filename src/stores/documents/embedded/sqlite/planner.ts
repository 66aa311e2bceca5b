/**
 * Which rows of the embedded engine can hold the documents a filter matches. A plan only narrows:
 * the store runs the MongoDB-semantics matcher on every candidate, so a plan must never miss a
 * match but may include non-matches. Filters no index serves get no plan (a streamed scan).
 *
 * A top-level `$and` is planned from its first clause (plus `_id` conditions) whenever an index
 * serves that clause: a ScopedFilter (domain/ports.ts) puts the ACL clause first (and the domain
 * indexes all its fields), so the rows a reader's own conditions would select among documents the
 * reader cannot read are never looked up (no index probe, no count) on its behalf; those
 * conditions are checked per candidate only.
 */
import { isAclClause, isReadableByAllBranch, type Filter } from '../../../../domain/ports';
import { encodeKey, MAX_KEY_BYTES, scalarTag, typeBounds } from './index-keys';

export interface PlannedIndex {
  readonly ix: number;
  readonly sparse: boolean;
  /** Some document has several keys: bounds on one field may be met by different elements. */
  readonly multikey: boolean;
  readonly ready: boolean;
}

/** A run of index keys, `low` inclusive, `high` inclusive unless `highExclusive`. */
export interface KeyRange {
  kind: 'range';
  ix: number;
  low: Buffer;
  high: Buffer;
  highExclusive: boolean;
  /** Only among documents everyone may read (`_acl.gr` or `_acl.gw` true). */
  readableByAll?: boolean;
}

export interface IdSource {
  kind: 'ids';
  ids: string[];
}

export type Source = KeyRange | IdSource;

/** A union of sources; alternatives of an implicit AND are chosen by the store (smallest wins). */
export interface Plan {
  sources: Source[];
  /** Every candidate matches the whole filter (equalities the index answers alone): no matcher needed. */
  exact: boolean;
  /**
   * Equalities on further `$and` clauses, checked per candidate against the index (a candidate
   * stays when, for each, it holds one of the keys): a reader's own conditions thus run on the
   * documents the first (ACL) clause selected, never on others.
   */
  residual?: Residual[];
}

export interface Residual {
  ix: number;
  keys: Buffer[];
}

const MAX_SOURCES = 1000;

/** Alternative plans for `filter`, each alone a superset of its matches; empty when none serves it. */
export function planFilter(filter: Filter, indexFor: (field: string) => PlannedIndex | undefined): Plan[] {
  const alternatives: Plan[] = [];
  const entries = Object.entries(filter);
  for (const [key, value] of entries) {
    if (key === '$and' && Array.isArray(value) && value.length > 0) {
      const first = planFilter(asFilter(value[0]), indexFor);
      const split = readableByAllSplit(asFilter(value[0]), value.slice(1).map(asFilter), indexFor);
      if (split) alternatives.push(split);
      const residual = residualOf(value.slice(1).map(asFilter), indexFor);
      // The first clause's own residual (a nested `$and`) is kept: both must hold for an exact plan.
      alternatives.push(
        ...first.map((plan) =>
          residual ? { ...plan, residual: [...(plan.residual ?? []), ...residual] } : inexact(plan),
        ),
      );
      for (const clause of value.slice(1)) {
        const id = asFilter(clause)._id;
        if (id !== undefined) alternatives.push(...nonNull(planField('_id', id, indexFor)).map(inexact));
      }
      // A first clause that is no ACL and no index serves, e.g. "active users" before a login's
      // username: then the other clauses are planned. An ACL clause never gives way (not even while
      // its indexes are being built).
      if (first.length === 0 && !isAclClause(value[0]))
        for (const clause of value.slice(1)) alternatives.push(...planFilter(asFilter(clause), indexFor).map(inexact));
    } else if (key === '$or' && Array.isArray(value) && value.length > 0) {
      const union = planUnion(value.map(asFilter), indexFor);
      if (union) alternatives.push(union);
    } else if (!key.startsWith('$')) {
      alternatives.push(...nonNull(planField(key, value, indexFor)));
    }
  }
  // Only a filter of one condition can be answered by its index alone.
  return entries.length === 1 ? alternatives : alternatives.map(inexact);
}

function planUnion(branches: Filter[], indexFor: (field: string) => PlannedIndex | undefined): Plan | null {
  if (branches.length === 0) return null;
  const sources: Source[] = [];
  let exact = true;
  for (const branch of branches) {
    // Each branch needs a plan; the cheapest guess is the first (unique fields come first in practice).
    const [plan] = planFilter(branch, indexFor);
    if (!plan) return null;
    sources.push(...plan.sources);
    // A union has no per-branch residual: a branch that needs one (`$and` inside `$or`) leaves its
    // candidates to the matcher.
    exact &&= plan.exact && !plan.residual?.length;
    if (sources.length > MAX_SOURCES) return null;
  }
  return { sources, exact };
}

/**
 * For an ACL `$or` with the "readable by all" branches (isReadableByAllBranch) and a further
 * clause an index serves: that clause's rows among documents everyone may read, plus the other ACL
 * branches' documents. The reader's condition is looked up among readable documents only, so it
 * stays fast when most of a private collection is public, and reveals nothing about the rest.
 */
function readableByAllSplit(
  acl: Filter,
  rest: Filter[],
  indexFor: (field: string) => PlannedIndex | undefined,
): Plan | null {
  const branches = Object.keys(acl).length === 1 && Array.isArray(acl.$or) ? acl.$or.map(asFilter) : null;
  if (!branches) return null;
  if (!branches.some(isReadableByAllBranch)) return null;
  const others = planUnion(
    branches.filter((b) => !isReadableByAllBranch(b)),
    indexFor,
  );
  if (!others && branches.some((b) => !isReadableByAllBranch(b))) return null;
  for (const clause of rest) {
    for (const [field, condition] of Object.entries(clause)) {
      if (field.startsWith('$') || field.startsWith('_acl') || field === '_id') continue;
      const own = planField(field, condition, indexFor);
      if (!own) continue;
      const readable = own.sources.map((source): Source => ({ ...(source as KeyRange), readableByAll: true }));
      // Equalities are then checked against the index (the readable rows pass them by construction).
      const residual = residualOf(rest, indexFor);
      const sources = [...readable, ...(others?.sources ?? [])];
      return residual ? { sources, exact: others?.exact ?? true, residual } : { sources, exact: false };
    }
  }
  return null;
}

/** The clauses as exact index equalities, or null when one of them needs the matcher. */
function residualOf(clauses: Filter[], indexFor: (field: string) => PlannedIndex | undefined): Residual[] | null {
  const out: Residual[] = [];
  for (const clause of clauses) {
    for (const [field, condition] of Object.entries(clause)) {
      if (field.startsWith('$') || field === '_id') return null;
      const plan = planField(field, condition, indexFor);
      if (!plan?.exact) return null;
      // An empty `$in` has no key: the residual then keeps no candidate, as the matcher would.
      out.push({
        ix: (plan.sources[0] as KeyRange | undefined)?.ix ?? 0,
        keys: plan.sources.map((source) => (source as KeyRange).low),
      });
    }
  }
  return out;
}

function planField(
  field: string,
  condition: unknown,
  indexFor: (field: string) => PlannedIndex | undefined,
): Plan | null {
  if (field === '_id') return planIds(condition);
  if (field.split('.').some((segment) => segment.length === 0 || /^\d+$/.test(segment) || segment.startsWith('$')))
    return null;
  const index = indexFor(field);
  if (!index || !index.ready) return null;
  const planned = rangesFor(condition, index);
  return planned && planned.sources.length <= MAX_SOURCES ? planned : null;
}

function planIds(condition: unknown): Plan | null {
  if (typeof condition === 'string') return { sources: [{ kind: 'ids', ids: [condition] }], exact: true };
  if (!isOperatorObject(condition)) return null;
  const only = Object.keys(condition).length === 1;
  if (typeof condition.$eq === 'string') return { sources: [{ kind: 'ids', ids: [condition.$eq] }], exact: only };
  const wanted = condition.$in;
  if (Array.isArray(wanted) && wanted.length <= MAX_SOURCES * 10) {
    // Non-string members can never equal a stored _id (always a string); a RegExp member needs the matcher.
    const exact = only && wanted.every((id) => !(id instanceof RegExp));
    return { sources: [{ kind: 'ids', ids: wanted.filter((id): id is string => typeof id === 'string') }], exact };
  }
  return null;
}

function rangesFor(condition: unknown, index: PlannedIndex): Plan | null {
  if (!isOperatorObject(condition)) return equality(condition, index);
  const only = Object.keys(condition).length === 1;
  if (Object.hasOwn(condition, '$eq')) {
    const eq = equality(condition.$eq, index);
    if (eq) return { sources: eq.sources, exact: eq.exact && only };
  }
  if (Array.isArray(condition.$in)) {
    const members = condition.$in.map((member) => equality(member, index));
    if (members.every((m): m is Plan => m !== null))
      return { sources: members.flatMap((m) => m.sources), exact: only && members.every((m) => m.exact) };
  }
  const range = comparisonRange(condition, index);
  return range ? { sources: [range], exact: false } : null;
}

function equality(value: unknown, index: PlannedIndex): Plan | null {
  if (scalarTag(value) === null) return null;
  if (value === null && index.sparse) return null; // sparse indexes hold no row for a missing field
  const { key } = encodeKey(value);
  // A cut key (a long string) may also name other values sharing its prefix.
  return {
    sources: [{ kind: 'range', ix: index.ix, low: key, high: key, highExclusive: false }],
    exact: key.length < MAX_KEY_BYTES,
  };
}

/** `$gt`/`$gte`/`$lt`/`$lte` within one type class (MongoDB never compares across types). */
function comparisonRange(ops: Record<string, unknown>, index: PlannedIndex): KeyRange | null {
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
  // {$gte: 2, $lt: 0} matches [2, -1]: each bound by another element. Only the lower one narrows then.
  if (index.multikey && low && high) high = null;
  if (tag === null || (tag === 0x01 && index.sparse)) return null;
  const bounds = typeBounds(tag);
  // Bounds are inclusive even for $gt/$lt (a cut key may hide a larger value); the matcher decides.
  return {
    kind: 'range',
    ix: index.ix,
    low: low ?? bounds.low,
    high: high ?? bounds.high,
    highExclusive: high === null,
  };
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Date ||
    value instanceof RegExp
  )
    return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function asFilter(value: unknown): Filter {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Filter) : {};
}

function inexact(plan: Plan): Plan {
  return { sources: plan.sources, exact: false };
}

function nonNull(plan: Plan | null): Plan[] {
  return plan ? [plan] : [];
}
