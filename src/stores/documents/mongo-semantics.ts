/**
 * MongoDB's query, ordering and projection semantics as pure functions, so the embedded store
 * answers every filter exactly like a MongoDB server would (nedb's own matcher and sort order do
 * not). Filters reach this module already sanitised by the domain; anything unknown is a bug.
 */
import type { Filter, SortSpec, StoredDocument } from '../../ports';

type Predicate = (doc: unknown) => boolean;
type ValuePredicate = (candidates: Candidate[]) => boolean;

/** A value found at a path; `expanded` marks elements of an array reached by implicit traversal. */
interface Candidate {
  value: unknown;
  expanded: boolean;
}

/**
 * Compiles a MongoDB filter into a predicate with MongoDB semantics (equality incl. `null`
 * matching missing fields, array element and whole-array matches, dotted paths through arrays,
 * type-bracketed comparisons). Throws a plain Error for unknown or malformed operators.
 */
export function compileFilter(filter: Filter): (doc: unknown) => boolean {
  const clauses = Object.entries(filter).map(([key, value]) => compileClause(key, value));
  return (doc) => clauses.every((clause) => clause(doc));
}

function compileClause(key: string, value: unknown): Predicate {
  switch (key) {
    case '$and':
    case '$or':
    case '$nor': {
      if (!Array.isArray(value) || value.length === 0) throw new Error(`${key} needs a non-empty array`);
      const parts = value.map((part) => compileFilter(asFilter(part, key)));
      if (key === '$and') return (doc) => parts.every((p) => p(doc));
      if (key === '$or') return (doc) => parts.some((p) => p(doc));
      return (doc) => !parts.some((p) => p(doc));
    }
    default:
      if (key.startsWith('$')) throw new Error(`unknown top-level operator ${key}`);
  }
  const path = key.split('.');
  const test = compileCondition(value);
  return (doc) => test(candidatesAt(doc, path));
}

function asFilter(value: unknown, context: string): Filter {
  if (!isPlainObject(value)) throw new Error(`${context} expects objects`);
  return value;
}

/** A field condition: an operator object (`{$gt: 1}`) or a value to compare for equality. */
function compileCondition(condition: unknown): ValuePredicate {
  if (isOperatorObject(condition)) return compileOperators(condition);
  return (candidates) => candidates.some((c) => equalsCandidate(c.value, condition));
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length > 0 && operators.length !== keys.length) {
    throw new Error(`cannot mix operators and fields in ${JSON.stringify(keys)}`);
  }
  return operators.length > 0;
}

function compileOperators(ops: Record<string, unknown>): ValuePredicate {
  const tests: ValuePredicate[] = [];
  for (const [op, operand] of Object.entries(ops)) {
    if (op === '$options') {
      if (!('$regex' in ops)) throw new Error('$options needs $regex');
      continue;
    }
    tests.push(compileOperator(op, operand, ops));
  }
  return (candidates) => tests.every((t) => t(candidates));
}

function compileOperator(op: string, operand: unknown, ops: Record<string, unknown>): ValuePredicate {
  const any = (test: (value: unknown) => boolean): ValuePredicate => (cs) => cs.some((c) => test(c.value));
  // $size and $elemMatch look only at the value stored at the path, never at expanded elements.
  const anyUnexpanded = (test: (value: unknown) => boolean): ValuePredicate => (cs) => cs.some((c) => !c.expanded && test(c.value));
  switch (op) {
    case '$eq':
      return any((v) => equalsCandidate(v, operand));
    case '$ne': {
      const eq = any((v) => equalsCandidate(v, operand));
      return (cs) => !eq(cs);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return any(comparison(op, operand));
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) throw new Error(`${op} needs an array`);
      const inTest = any((v) => operand.some((o) => equalsCandidate(v, o)));
      return op === '$in' ? inTest : (cs) => !inTest(cs);
    }
    case '$all': {
      if (!Array.isArray(operand)) throw new Error('$all needs an array');
      const parts = operand.map((o) => compileCondition(o));
      return (cs) => parts.length > 0 && parts.every((p) => p(cs));
    }
    case '$exists':
      return operand ? any((v) => v !== undefined) : (cs) => cs.every((c) => c.value === undefined);
    case '$size':
      if (typeof operand !== 'number') throw new Error('$size needs a number');
      return anyUnexpanded((v) => Array.isArray(v) && v.length === operand);
    case '$mod': {
      const [divisor, remainder] = Array.isArray(operand) ? operand : [];
      if (typeof divisor !== 'number' || typeof remainder !== 'number' || divisor === 0) throw new Error('$mod needs [divisor, remainder]');
      return any((v) => typeof v === 'number' && Number.isFinite(v) && Math.trunc(v) % divisor === remainder);
    }
    case '$regex': {
      const regex = buildRegExp(operand, ops.$options);
      return any((v) => typeof v === 'string' && regex.test(v));
    }
    case '$not': {
      const inner = operand instanceof RegExp ? compileCondition(operand) : isOperatorObject(operand) ? compileOperators(operand) : null;
      if (!inner) throw new Error('$not needs an operator object or a regular expression');
      return (cs) => !inner(cs);
    }
    case '$elemMatch':
      return anyUnexpanded(compileElemMatch(operand));
    default:
      throw new Error(`unknown operator ${op}`);
  }
}

function compileElemMatch(spec: unknown): (value: unknown) => boolean {
  if (!isPlainObject(spec)) throw new Error('$elemMatch needs an object');
  const element: (e: unknown) => boolean = isOperatorObject(spec)
    ? ((test) => (e: unknown) => test([{ value: e, expanded: false }]))(compileOperators(spec))
    : ((match) => (e: unknown) => isPlainObject(e) && match(e))(compileFilter(spec));
  return (value) => Array.isArray(value) && value.some(element);
}

function comparison(op: '$gt' | '$gte' | '$lt' | '$lte', operand: unknown): (value: unknown) => boolean {
  const operandClass = typeClass(operand);
  return (value) => {
    // MongoDB compares only within one BSON type class: {$gt: 1} never matches a string.
    if (typeClass(value) !== operandClass) return false;
    const order = compareValues(value, operand);
    if (op === '$gt') return order > 0;
    if (op === '$gte') return order >= 0;
    if (op === '$lt') return order < 0;
    return order <= 0;
  };
}

function equalsCandidate(value: unknown, wanted: unknown): boolean {
  if (wanted instanceof RegExp) return typeof value === 'string' && freshRegExp(wanted).test(value);
  if (wanted === null) return value === null || value === undefined;
  return typeClass(value) === typeClass(wanted) && compareValues(value, wanted) === 0;
}

/**
 * Builds a RegExp from `$regex` (string or RegExp) and `$options` (i, m, s, x). For x, unescaped
 * whitespace and `#` comments outside character classes are stripped, as PCRE does.
 */
export function buildRegExp(pattern: unknown, options: unknown): RegExp {
  let source: string;
  let flags = '';
  if (pattern instanceof RegExp) {
    source = pattern.source;
    flags = pattern.flags.replace(/[gyu]/g, '');
  } else if (typeof pattern === 'string') {
    source = pattern;
  } else {
    throw new Error('$regex needs a string or a regular expression');
  }
  if (options !== undefined) {
    if (typeof options !== 'string' || /[^imsx]/.test(options)) throw new Error(`unsupported $options ${String(options)}`);
    if (options.includes('x')) source = stripExtended(source);
    flags = [...new Set((flags + options.replace('x', '')).split(''))].join('');
  }
  return new RegExp(source, flags);
}

/**
 * Returns the filter with every `$options: 'x'` applied to its string `$regex` and removed, which
 * is exactly what the server would do. Lets servers without the x option (FerretDB) answer the same.
 */
export function applyExtendedRegexOption<T>(filter: T): T {
  if (Array.isArray(filter)) return filter.map((part) => applyExtendedRegexOption(part)) as T;
  if (!isPlainObject(filter)) return filter;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) out[key] = applyExtendedRegexOption(value);
  if (typeof out.$regex === 'string' && typeof out.$options === 'string' && out.$options.includes('x')) {
    out.$regex = stripExtended(out.$regex);
    out.$options = out.$options.replace(/x/g, '');
  }
  return out as T;
}

function stripExtended(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i] as string;
    if (ch === '\\') {
      out += ch + (source[i + 1] ?? '');
      i += 1;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
    } else if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i += 1;
    } else if (!/\s/.test(ch)) {
      out += ch;
    }
  }
  return out;
}

function freshRegExp(regex: RegExp): RegExp {
  // A global/sticky RegExp keeps lastIndex between test() calls; never let that leak into matching.
  return regex.global || regex.sticky ? new RegExp(regex.source, regex.flags.replace(/[gy]/g, '')) : regex;
}

/**
 * Every value at `path`, MongoDB-style: arrays met on the way are traversed element by element
 * (numeric segments index into them), and an array at the end contributes itself and its elements.
 * A path that reaches nothing yields one `undefined` candidate (a missing field).
 */
export function candidatesAt(doc: unknown, path: readonly string[]): Candidate[] {
  const out: Candidate[] = [];
  collect(doc, path, 0, out);
  return out.length > 0 ? out : [{ value: undefined, expanded: false }];
}

function collect(value: unknown, path: readonly string[], depth: number, out: Candidate[]): void {
  if (depth === path.length) {
    out.push({ value, expanded: false });
    if (Array.isArray(value)) for (const element of value) out.push({ value: element, expanded: true });
    return;
  }
  const segment = path[depth] as string;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(segment)) {
      const index = Number(segment);
      if (index < value.length) collect(value[index], path, depth + 1, out);
      return;
    }
    // Field names reach into the array's documents only; scalars and nested arrays have no fields.
    for (const element of value) if (isPlainObject(element)) collect(element, path, depth, out);
    return;
  }
  if (isPlainObject(value)) {
    if (Object.hasOwn(value, segment)) collect(value[segment], path, depth + 1, out);
    else out.push({ value: undefined, expanded: false });
  }
}

/** BSON type classes in MongoDB's comparison order (missing and null compare as equals). */
function typeClass(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 3;
  if (Array.isArray(value)) return 5;
  if (typeof value === 'boolean') return 8;
  if (value instanceof Date) return 9;
  if (value instanceof RegExp) return 11;
  return 4;
}

/**
 * Total order of values as MongoDB sorts them: missing/null < numbers < strings < objects < arrays
 * < booleans < dates. Strings compare by code point (MongoDB's binary comparison), objects field by
 * field in stored order, arrays element by element.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ca = typeClass(a);
  const cb = typeClass(b);
  if (ca !== cb) return ca < cb ? -1 : 1;
  switch (ca) {
    case 1:
      return 0;
    case 2:
      return sign((a as number) - (b as number));
    case 3:
      return compareStrings(a as string, b as string);
    case 5:
      return compareSequences(a as unknown[], b as unknown[], compareValues);
    case 8:
      return sign(Number(a) - Number(b));
    case 9:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 11:
      return compareStrings(String(a), String(b));
    default:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ea = Object.entries(a).filter(([, v]) => v !== undefined);
  const eb = Object.entries(b).filter(([, v]) => v !== undefined);
  return compareSequences(ea, eb, ([ka, va], [kb, vb]) =>
    sign(typeClass(va) - typeClass(vb)) || compareStrings(ka, kb) || compareValues(va, vb));
}

function compareSequences<T>(a: readonly T[], b: readonly T[], compare: (x: T, y: T) => number): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const order = compare(a[i] as T, b[i] as T);
    if (order !== 0) return order;
  }
  return sign(a.length - b.length);
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      // Code points, not UTF-16 units: that is the order of UTF-8 bytes, which MongoDB compares.
      return sign((a.codePointAt(i) as number) - (b.codePointAt(i) as number));
    }
  }
  return sign(a.length - b.length);
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

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
  const tree: FieldTree = {};
  for (const field of normalizeFields(fields)) {
    const segments = field.split('.');
    let node = tree;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) node[segment] = true;
      else node = (node[segment] = (node[segment] === true || node[segment] === undefined ? {} : node[segment]) as FieldTree);
    });
  }
  return { _id: doc._id, ...projectObject(doc, tree) };
}

function projectObject(value: Record<string, unknown>, tree: FieldTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const spec = tree[key];
    if (spec === undefined) continue;
    if (spec === true) out[key] = child;
    else if (Array.isArray(child)) out[key] = projectArray(child, spec);
    else if (isPlainObject(child)) out[key] = projectObject(child, spec);
  }
  return out;
}

function projectArray(values: unknown[], tree: FieldTree): unknown[] {
  return values.flatMap((v) => (Array.isArray(v) ? [projectArray(v, tree)] : isPlainObject(v) ? [projectObject(v, tree)] : []));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof RegExp);
}
