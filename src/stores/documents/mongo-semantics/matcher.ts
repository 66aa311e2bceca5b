/**
 * MongoDB's query, ordering and projection semantics as pure functions, so the embedded store
 * answers every filter exactly like a MongoDB server would (nedb's own matcher and sort order do
 * not). Filters reach this module already sanitised by the domain; anything unknown is a bug.
 */
import type { Filter } from '../../../domain/ports';
import { candidatesAt, compareValues, isPlainObject, typeClass, type Candidate } from './values';
import { lookupKey, membersOf, valueKey } from './membership';
// The pure pattern rules are the domain's: the sanitiser refuses exactly what this matcher cannot run.
import { compileLinearRegex, stripExtended } from '../../../internal/linear-regex';

export { compareValues } from './values';
export { normalizeFields, projectDocument, sortDocuments } from './ordering';

type Predicate = (doc: unknown) => boolean;
type ValuePredicate = (candidates: Candidate[]) => boolean;

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
  const any =
    (test: (value: unknown) => boolean): ValuePredicate =>
    (cs) =>
      cs.some((c) => test(c.value));
  // $size and $elemMatch look only at the value stored at the path, never at expanded elements.
  const anyUnexpanded =
    (test: (value: unknown) => boolean): ValuePredicate =>
    (cs) =>
      cs.some((c) => !c.expanded && test(c.value));
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
      const members = membersOf(operand);
      const inTest = any((v) => {
        const key = lookupKey(v, members);
        return (key !== undefined && members.keys.has(key)) || members.others.some((o) => equalsCandidate(v, o));
      });
      return op === '$in' ? inTest : (cs) => !inTest(cs);
    }
    case '$all': {
      if (!Array.isArray(operand)) throw new Error('$all needs an array');
      // Plain values are looked up among the keys of the candidates, computed once per document.
      const wanted = [
        ...new Set(
          operand.map((o) => (isOperatorObject(o) ? undefined : valueKey(o))).filter((key) => key !== undefined),
        ),
      ];
      const parts = operand
        .filter((o) => isOperatorObject(o) || valueKey(o) === undefined)
        .map((o) => compileCondition(o));
      return (cs) => {
        if (operand.length === 0) return false;
        if (wanted.length > 0) {
          const held = new Set(cs.map((c) => valueKey(c.value)));
          if (!wanted.every((key) => held.has(key))) return false;
        }
        return parts.every((p) => p(cs));
      };
    }
    case '$exists':
      return operand ? any((v) => v !== undefined) : (cs) => cs.every((c) => c.value === undefined);
    case '$size':
      if (typeof operand !== 'number') throw new Error('$size needs a number');
      return anyUnexpanded((v) => Array.isArray(v) && v.length === operand);
    case '$mod': {
      const [divisor, remainder] = Array.isArray(operand) ? (operand as unknown[]) : [];
      if (typeof divisor !== 'number' || typeof remainder !== 'number' || divisor === 0)
        throw new Error('$mod needs [divisor, remainder]');
      return any((v) => typeof v === 'number' && Number.isFinite(v) && Math.trunc(v) % divisor === remainder);
    }
    case '$regex': {
      const regex = buildRegExp(operand, ops.$options);
      return any((v) => typeof v === 'string' && regex.test(v));
    }
    case '$not': {
      const inner =
        operand instanceof RegExp
          ? compileCondition(operand)
          : isOperatorObject(operand)
            ? compileOperators(operand)
            : null;
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
    ? (
        (test) => (e: unknown) =>
          test([{ value: e, expanded: false }])
      )(compileOperators(spec))
    : (
        (match) => (e: unknown) =>
          isPlainObject(e) && match(e)
      )(compileFilter(spec));
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
 * The matcher of `$regex` (a string, with `$options` i, m, s, x) under RE2 semantics: linear in the
 * subject's length whatever the pattern, so a hostile pattern cannot stall the event loop. A
 * RegExp operand (only ever built by kinbase itself) keeps JavaScript semantics.
 */
export function buildRegExp(pattern: unknown, options: unknown): { test(subject: string): boolean } {
  if (pattern instanceof RegExp) return freshRegExp(pattern);
  if (typeof pattern !== 'string') throw new Error('$regex needs a string or a regular expression');
  if (options !== undefined && typeof options !== 'string')
    throw new Error(`unsupported $options ${JSON.stringify(options)}`);
  return compileLinearRegex(pattern, options);
}

/**
 * Returns the filter with every `$options: 'x'` applied to its string `$regex` and removed, which
 * is exactly what the server would do. Lets servers without the x option (FerretDB) answer the same.
 */
export function applyExtendedRegexOption<T>(filter: T): T {
  if (Array.isArray(filter)) return (filter as unknown[]).map((part) => applyExtendedRegexOption(part)) as T;
  if (!isPlainObject(filter)) return filter;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) out[key] = applyExtendedRegexOption(value);
  if (typeof out.$regex === 'string' && typeof out.$options === 'string' && out.$options.includes('x')) {
    out.$regex = stripExtended(out.$regex);
    out.$options = out.$options.replace(/x/g, '');
  }
  return out as T;
}

function freshRegExp(regex: RegExp): RegExp {
  // A global/sticky RegExp keeps lastIndex between test() calls; never let that leak into matching.
  return regex.global || regex.sticky ? new RegExp(regex.source, regex.flags.replace(/[gy]/g, '')) : regex;
}
