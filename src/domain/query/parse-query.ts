/**
 * Parses and sanitises Kinvey's query parameters (`query`, `sort`, `fields`, `limit`, `skip`).
 * Filters are MongoDB syntax restricted to an allow-list of operators: nothing that runs code
 * (`$where`, `$function`, `$accumulator`, `$expr`) and nothing unknown reaches a store, nesting is
 * capped, regexes are ones that run in linear time (internal/linear-regex.ts), no path segment or key is
 * `__proto__`, `constructor` or `prototype`, and every string is well-formed UTF-16. Breadth is
 * bounded too (nodes, `$in`-style list items, `$regex` conditions and their weight), checked
 * before any pattern is compiled, so validating, planning and matching one filter stays a few
 * milliseconds of event-loop time. Every rejection is 400 InvalidQuerySyntax naming the problem.
 */
import type { Filter, FindOptions, SortSpec } from '../ports';
import { errors } from '../errors';
import { isPlainObject } from '../access/acl';
import { compileRegexes, Tally } from './query-breadth';
import { isReservedKey, isWellFormed } from '../access/safe-keys';

export const MAX_QUERY_DEPTH = 32;
export const MAX_REGEX_LENGTH = 1000;
export const MAX_SORT_KEYS = 16;
export const MAX_FIELDS = 100;

const LOGICAL = new Set(['$and', '$or', '$nor']);
const FIELD_OPERATORS = new Set([
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$all',
  '$exists',
  '$size',
  '$mod',
  '$regex',
  '$options',
  '$not',
  '$elemMatch',
]);

export interface ListQuery extends FindOptions {
  filter: Filter;
}

/** Parses the list parameters of a request. Unknown parameters are ignored (e.g. a cache-buster `_`). */
export function parseListQuery(params: Record<string, unknown>): ListQuery {
  const result: ListQuery = { filter: parseFilterParam(params.query) };
  if (params.sort !== undefined) result.sort = parseSort(params.sort);
  if (params.fields !== undefined) result.fields = parseFields(params.fields);
  if (params.limit !== undefined) result.limit = parseCount(params.limit, 'limit');
  if (params.skip !== undefined) result.skip = parseCount(params.skip, 'skip');
  return result;
}

/** The `query` parameter: absent or empty means "everything". */
export function parseFilterParam(raw: unknown): Filter {
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'string')
    throw errors.invalidQuerySyntax('The query parameter must be given once, as a JSON object.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw errors.invalidQuerySyntax(`The query is not valid JSON: ${(err as Error).message}`);
  }
  return sanitizeFilter(parsed);
}

/**
 * Validates a parsed filter object; returns it unchanged when it is acceptable. Every route and
 * Business Logic call that takes a filter comes through here. Throws 400 InvalidQuerySyntax.
 */
export function sanitizeFilter(value: unknown): Filter {
  if (!isPlainObject(value)) throw errors.invalidQuerySyntax('The query must be a JSON object.');
  const tally = new Tally();
  checkFilter(value, 1, 'query', tally);
  // Cheap before expensive: patterns are compiled only once the whole filter's breadth is known.
  compileRegexes(tally.regexes);
  return value;
}

function checkFilter(filter: Record<string, unknown>, depth: number, at: string, tally: Tally): void {
  if (depth > MAX_QUERY_DEPTH)
    throw errors.invalidQuerySyntax(`The query nests deeper than ${MAX_QUERY_DEPTH} levels.`);
  for (const [key, value] of Object.entries(filter)) {
    tally.node();
    if (key.startsWith('$')) {
      if (!LOGICAL.has(key)) throw errors.invalidQuerySyntax(`Operator ${key} is not allowed at ${at}.`);
      if (!Array.isArray(value) || value.length === 0)
        throw errors.invalidQuerySyntax(`${key} needs a non-empty array of conditions.`);
      value.forEach((clause, i) => {
        tally.node();
        if (!isPlainObject(clause)) throw errors.invalidQuerySyntax(`${key}[${i}] must be an object.`);
        checkFilter(clause, depth + 1, `${at}.${key}[${i}]`, tally);
      });
    } else {
      checkFieldName(key, at);
      checkCondition(value, depth + 1, `${at}.${key}`, tally);
    }
  }
}

function checkCondition(value: unknown, depth: number, at: string, tally: Tally): void {
  if (depth > MAX_QUERY_DEPTH)
    throw errors.invalidQuerySyntax(`The query nests deeper than ${MAX_QUERY_DEPTH} levels.`);
  if (!isPlainObject(value)) return checkLiteral(value, depth, at, tally);
  const keys = Object.keys(value);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length === 0) return checkLiteral(value, depth, at, tally);
  if (operators.length !== keys.length) throw errors.invalidQuerySyntax(`${at} mixes operators and field names.`);
  for (const op of operators) {
    tally.node();
    if (!FIELD_OPERATORS.has(op)) throw errors.invalidQuerySyntax(`Operator ${op} is not allowed (at ${at}).`);
    checkOperator(op, value[op], value, depth, `${at}.${op}`, tally);
  }
}

function checkOperator(
  op: string,
  operand: unknown,
  all: Record<string, unknown>,
  depth: number,
  at: string,
  tally: Tally,
): void {
  switch (op) {
    case '$in':
    case '$nin':
    case '$all':
      if (!Array.isArray(operand)) throw errors.invalidQuerySyntax(`${op} needs an array (at ${at}).`);
      tally.listItems(operand.length);
      for (const item of operand) {
        tally.node();
        if (op === '$all' && isPlainObject(item) && '$elemMatch' in item) checkCondition(item, depth + 1, at, tally);
        else checkLiteral(item, depth + 1, at, tally);
      }
      return;
    case '$exists':
      if (typeof operand !== 'boolean' && operand !== 0 && operand !== 1)
        throw errors.invalidQuerySyntax(`$exists needs true or false (at ${at}).`);
      return;
    case '$size':
      if (!Number.isInteger(operand) || (operand as number) < 0)
        throw errors.invalidQuerySyntax(`$size needs a non-negative integer (at ${at}).`);
      return;
    case '$mod':
      if (
        !Array.isArray(operand) ||
        operand.length !== 2 ||
        !operand.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
        Math.trunc(operand[0] as number) === 0
      ) {
        throw errors.invalidQuerySyntax(`$mod needs [divisor, remainder] with a non-zero divisor (at ${at}).`);
      }
      return;
    case '$regex':
      checkRegex(operand, all.$options, at);
      tally.regex({ pattern: operand as string, options: all.$options as string | undefined, at });
      return;
    case '$options':
      if (!('$regex' in all)) throw errors.invalidQuerySyntax(`$options is only allowed with $regex (at ${at}).`);
      return;
    case '$not':
      if (
        !isPlainObject(operand) ||
        Object.keys(operand).length === 0 ||
        !Object.keys(operand).every((k) => k.startsWith('$'))
      ) {
        throw errors.invalidQuerySyntax(`$not needs an operator object such as {"$regex": "..."} (at ${at}).`);
      }
      checkCondition(operand, depth + 1, at, tally);
      return;
    case '$elemMatch':
      if (!isPlainObject(operand)) throw errors.invalidQuerySyntax(`$elemMatch needs an object (at ${at}).`);
      if (Object.keys(operand).some((k) => FIELD_OPERATORS.has(k))) checkCondition(operand, depth + 1, at, tally);
      else checkFilter(operand, depth + 1, at, tally);
      return;
    default:
      checkLiteral(operand, depth + 1, at, tally);
  }
}

function checkRegex(pattern: unknown, options: unknown, at: string): void {
  if (typeof pattern !== 'string') throw errors.invalidQuerySyntax(`$regex needs a string (at ${at}).`);
  if (pattern.length > MAX_REGEX_LENGTH)
    throw errors.invalidQuerySyntax(`$regex is longer than ${MAX_REGEX_LENGTH} characters (at ${at}).`);
  if (!isWellFormed(pattern)) throw errors.invalidQuerySyntax(`$regex holds a lone UTF-16 surrogate (at ${at}).`);
  if (options !== undefined && (typeof options !== 'string' || !/^[imsx]*$/.test(options))) {
    throw errors.invalidQuerySyntax(`$options may only hold the flags i, m, s and x (at ${at}).`);
  }
}

/** Literal values (equality operands, array items) may not smuggle operators anywhere inside. */
function checkLiteral(value: unknown, depth: number, at: string, tally: Tally): void {
  if (depth > MAX_QUERY_DEPTH)
    throw errors.invalidQuerySyntax(`The query nests deeper than ${MAX_QUERY_DEPTH} levels.`);
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw errors.invalidQuerySyntax(`A string at ${at} holds a lone UTF-16 surrogate.`);
  } else if (Array.isArray(value)) {
    for (const item of value) {
      tally.node();
      checkLiteral(item, depth + 1, at, tally);
    }
  } else if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      tally.node();
      if (key.startsWith('$'))
        throw errors.invalidQuerySyntax(`Operator ${key} is not allowed inside a value (at ${at}).`);
      if (isReservedKey(key) || !isWellFormed(key))
        throw errors.invalidQuerySyntax(`The key "${key.slice(0, 100)}" is not allowed inside a value (at ${at}).`);
      checkLiteral(inner, depth + 1, at, tally);
    }
  }
}

function checkFieldName(name: string, at: string): void {
  if (name === '' || !isWellFormed(name) || name.split('.').some((part) => part === '' || part.startsWith('$'))) {
    throw errors.invalidQuerySyntax(`Invalid field name "${name.slice(0, 100)}" at ${at}.`);
  }
  // These segments name an object's prototype, not a field: never a path into stored data.
  if (name.split('.').some(isReservedKey)) {
    throw errors.invalidQuerySyntax(
      `Field name "${name.slice(0, 100)}" at ${at} uses a reserved segment (__proto__, constructor, prototype).`,
    );
  }
}

/**
 * Refuses a query, sort or projection that touches a field hidden from this reader (a top-level
 * field such as another user's `_socialIdentity`): what a reader may not see, they may not filter,
 * count or order by either. Throws 400 InvalidQuerySyntax naming the field.
 */
export function refuseHiddenFields(
  query: { filter: Filter; sort?: SortSpec; fields?: readonly string[] },
  hidden: readonly string[],
): void {
  if (hidden.length === 0) return;
  const touches = (path: string) => hidden.includes(path.split('.')[0] ?? path);
  const refuse = (path: string, where: string) => {
    throw errors.invalidQuerySyntax(
      `${path.split('.')[0]?.slice(0, 100)} is not visible to these credentials and cannot be used in ${where}.`,
    );
  };
  const walk = (filter: Record<string, unknown>): void => {
    for (const [key, value] of Object.entries(filter)) {
      if (LOGICAL.has(key)) (value as Record<string, unknown>[]).forEach(walk);
      else if (touches(key)) refuse(key, 'a query');
    }
  };
  walk(query.filter);
  for (const [field] of query.sort ?? []) if (touches(field)) refuse(field, 'a sort');
  for (const field of query.fields ?? []) if (touches(field)) refuse(field, 'fields');
}

/** `sort`: a JSON object of field -> 1 | -1, several keys in priority order. */
export function parseSort(raw: unknown): SortSpec {
  if (typeof raw !== 'string')
    throw errors.invalidQuerySyntax('The sort parameter must be given once, as a JSON object.');
  let parsed: unknown;
  try {
    parsed = raw === '' ? {} : JSON.parse(raw);
  } catch (err) {
    throw errors.invalidQuerySyntax(`The sort is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed))
    throw errors.invalidQuerySyntax('The sort must be a JSON object such as {"name":1,"age":-1}.');
  const entries = Object.entries(parsed);
  if (entries.length > MAX_SORT_KEYS)
    throw errors.invalidQuerySyntax(`The sort may have at most ${MAX_SORT_KEYS} keys.`);
  return entries.map(([field, direction]) => {
    checkFieldName(field, 'sort');
    if (direction !== 1 && direction !== -1)
      throw errors.invalidQuerySyntax(`Sort direction of ${field} must be 1 or -1.`);
    return [field, direction] as const;
  });
}

/** `fields`: a comma list; the result always holds `_id` plus these. */
export function parseFields(raw: unknown): string[] {
  if (typeof raw !== 'string')
    throw errors.invalidQuerySyntax('The fields parameter must be given once, as a comma-separated list.');
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (fields.length > MAX_FIELDS) throw errors.invalidQuerySyntax(`At most ${MAX_FIELDS} fields may be selected.`);
  for (const field of fields) checkFieldName(field, 'fields');
  return [...new Set(fields)];
}

function parseCount(raw: unknown, name: string): number {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw errors.parameterValueOutOfRange(`${name} must be a non-negative integer.`);
  }
  return Number(raw);
}
