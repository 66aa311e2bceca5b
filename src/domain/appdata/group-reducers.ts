/**
 * Recognises the `reduce` functions the official Kinvey SDKs generate for `_group`, without ever
 * running them: the source is tokenised (so whitespace, and a `;` before `}`, do not matter), a
 * trailing `return out;` is dropped, and the body must equal one of the templates below token for
 * token. Each template is what an SDK sends (see docs/aggregations.md):
 *
 * - JS `kinvey-js-sdk` 7 (lib/aggregation.js), `kinvey-node-sdk` 3 (src/core/aggregation.js),
 *   the 1.x/3.x JS libraries (src/core/aggregation.js): `out.count += 1`, `out.sum += doc["f"]`,
 *   `out.min = Math.min(out.min, doc["f"])`, `out.average = (out.average * out.count + doc["f"]) /
 *   (out.count + 1); out.count += 1` (result names vary: count/sum/min/max/average or result).
 * - .NET `Kinvey.Shared` BuildGetAggregateRequest: `out.result += doc.f`, Math.min/max, and
 *   `out.result = (((out.result * out.count) + doc.f) / (out.count += 1))`.
 * - Swift `AggregateOperation.swift`: `out.count++`, `out.sum += doc.f`, Math.min/max,
 *   `out.count++; out.sum += doc.f; out.avg = out.sum / out.count`.
 * - Android `AggregateEntity.kt`: `out._result++`, `out._result= out._result + doc.f`, Math.min/max,
 *   `var count = (out._kcs_count == undefined) ? 0 : out._kcs_count; out._result =(out._result *
 *   count + doc.f) / (count + 1); out._kcs_count = count+1`.
 *
 * Anything else is refused: kinbase never evaluates client code.
 */
import { errors } from '../errors';
import { isReservedKey, isWellFormed } from '../access/safe-keys';

export type Reducer =
  | { kind: 'count'; result: string }
  | { kind: 'sum' | 'min' | 'max'; result: string; field: string }
  /** A running mean kept in `result`, with the number of values so far in `counter`. */
  | { kind: 'mean'; result: string; counter: string; field: string }
  /** Swift: the total in `total`, the number of values in `counter`, their quotient in `result`. */
  | { kind: 'mean-of-total'; result: string; counter: string; total: string; field: string };

export const MAX_REDUCER_LENGTH = 2000;
export const MAX_FIELD_PATH_LENGTH = 256;

const PUNCTUATION = ['=>', '==', '+=', '++', '(', ')', '{', '}', '[', ']', ',', ';', '.', '=', '+', '*', '/', '?', ':'];

type Token = { type: 'name' | 'number' | 'string' | 'punct'; text: string };

const TEMPLATES: ReadonlyArray<{ kind: Reducer['kind']; body: string }> = [
  { kind: 'count', body: 'OUT.R += 1;' },
  { kind: 'count', body: 'OUT.R ++;' },
  { kind: 'count', body: 'OUT.R = OUT.R + 1;' },
  { kind: 'sum', body: 'OUT.R += FIELD;' },
  { kind: 'sum', body: 'OUT.R = OUT.R + FIELD;' },
  { kind: 'min', body: 'OUT.R = Math.min(OUT.R, FIELD);' },
  { kind: 'max', body: 'OUT.R = Math.max(OUT.R, FIELD);' },
  { kind: 'mean', body: 'OUT.R = (OUT.R * OUT.C + FIELD) / (OUT.C + 1); OUT.C += 1;' },
  { kind: 'mean', body: 'OUT.R = (((OUT.R * OUT.C) + FIELD) / (OUT.C += 1));' },
  {
    kind: 'mean',
    body: 'var count = (OUT.C == undefined) ? 0 : OUT.C; OUT.R = (OUT.R * count + FIELD) / (count + 1); OUT.C = count + 1;',
  },
  { kind: 'mean-of-total', body: 'OUT.C ++; OUT.S += FIELD; OUT.R = OUT.S / OUT.C;' },
];

const PARSED_TEMPLATES = TEMPLATES.map((t) => ({ kind: t.kind, tokens: normalise(tokenize(t.body) ?? []) }));

/**
 * The aggregation a reduce function computes. Throws 400 FeatureUnavailable for any function that
 * is not one the SDKs generate, and 400 BadRequest when the field it reads is not a valid path.
 */
export function recogniseReducer(source: unknown): Reducer {
  if (typeof source !== 'string' || source.length > MAX_REDUCER_LENGTH) throw unrecognised();
  const tokens = tokenize(source);
  if (!tokens) throw unrecognised();
  const parts = splitFunction(tokens);
  if (!parts) throw unrecognised();
  let body = normalise(parts.body);
  const ret = body.length - 3;
  if (ret >= 0 && body[ret]?.text === 'return' && body[ret + 1]?.text === parts.out && body[ret + 2]?.text === ';')
    body = body.slice(0, ret);
  for (const template of PARSED_TEMPLATES) {
    const bound = match(template.tokens, body, parts.doc, parts.out);
    if (bound) return toReducer(template.kind, bound);
  }
  throw unrecognised();
}

function unrecognised() {
  return errors.featureUnavailable(
    'kinbase runs only the reduce functions the Kinvey SDKs generate for count, sum, min, max and average; other reduce functions are never executed on this server.',
  );
}

function toReducer(kind: Reducer['kind'], b: Bindings): Reducer {
  const names = [b.R, b.C, b.S].filter((n): n is string => n !== undefined);
  if (new Set(names).size !== names.length) throw unrecognised();
  const result = b.R as string;
  switch (kind) {
    case 'count':
      return { kind, result };
    case 'sum':
    case 'min':
    case 'max':
      return { kind, result, field: b.FIELD as string };
    case 'mean':
      return { kind, result, counter: b.C as string, field: b.FIELD as string };
    case 'mean-of-total':
      return { kind, result, counter: b.C as string, total: b.S as string, field: b.FIELD as string };
  }
}

type Bindings = Partial<Record<'R' | 'C' | 'S' | 'FIELD', string>>;

/** Matches template tokens against body tokens, binding R/C/S to names and FIELD to a doc field path. */
function match(template: Token[], body: Token[], doc: string, out: string): Bindings | null {
  const bound: Bindings = {};
  let i = 0;
  for (const t of template) {
    const token = body[i];
    if (!token) return null;
    if (t.text === 'OUT') {
      if (token.type !== 'name' || token.text !== out) return null;
      i += 1;
    } else if (t.text === 'R' || t.text === 'C' || t.text === 'S') {
      if (token.type !== 'name' || isReservedKey(token.text)) return null;
      if (bound[t.text] !== undefined && bound[t.text] !== token.text) return null;
      bound[t.text] = token.text;
      i += 1;
    } else if (t.text === 'FIELD') {
      const field = fieldAccess(body, i, doc);
      if (!field) return null;
      bound.FIELD = checkFieldPath(field.path, 'the reduce function');
      i = field.next;
    } else {
      if (token.text !== t.text || token.type !== t.type) return null;
      i += 1;
    }
  }
  return i === body.length ? bound : null;
}

/** `doc.a.b`, `doc["a.b"]` or `doc['a.b']` starting at `i`. */
function fieldAccess(body: Token[], i: number, doc: string): { path: string; next: number } | null {
  if (body[i]?.type !== 'name' || body[i]?.text !== doc) return null;
  if (body[i + 1]?.text === '[' && body[i + 2]?.type === 'string' && body[i + 3]?.text === ']') {
    return { path: body[i + 2]?.text as string, next: i + 4 };
  }
  const names: string[] = [];
  let j = i + 1;
  while (body[j]?.text === '.' && body[j + 1]?.type === 'name') {
    names.push(body[j + 1]?.text as string);
    j += 2;
  }
  return names.length ? { path: names.join('.'), next: j } : null;
}

/**
 * A field path from a client (group key, aggregated field): non-empty segments, none starting with
 * `$` or being `__proto__`/`constructor`/`prototype`. Throws 400 BadRequest naming the problem.
 */
export function checkFieldPath(path: string, where: string): string {
  if (path === '' || path.length > MAX_FIELD_PATH_LENGTH || !isWellFormed(path)) {
    throw errors.badRequest(`Invalid field name "${path.slice(0, 100)}" in ${where}.`);
  }
  const segments = path.split('.');
  if (segments.some((s) => s === '' || s.startsWith('$')))
    throw errors.badRequest(`Invalid field name "${path.slice(0, 100)}" in ${where}.`);
  // These segments name an object's prototype, not a field.
  if (segments.some(isReservedKey))
    throw errors.badRequest(
      `Field name "${path.slice(0, 100)}" in ${where} uses a reserved segment (__proto__, constructor, prototype).`,
    );
  return path;
}

/** `function [name](doc, out) { body }` or `(doc, out) => { body }`. */
function splitFunction(tokens: Token[]): { doc: string; out: string; body: Token[] } | null {
  let i = 0;
  const arrow = tokens[0]?.text !== 'function';
  if (!arrow) {
    i = 1;
    if (tokens[i]?.type === 'name') i += 1;
  }
  const [open, doc, comma, out, close] = tokens.slice(i, i + 5);
  if (
    open?.text !== '(' ||
    doc?.type !== 'name' ||
    comma?.text !== ',' ||
    out?.type !== 'name' ||
    close?.text !== ')' ||
    doc.text === out.text
  )
    return null;
  i += 5;
  if (arrow) {
    if (tokens[i]?.text !== '=>') return null;
    i += 1;
  }
  if (tokens[i]?.text !== '{' || tokens[tokens.length - 1]?.text !== '}') return null;
  return { doc: doc.text, out: out.text, body: tokens.slice(i + 1, -1) };
}

/** Drops empty statements and a `;` before `}` or at the end, so optional semicolons do not matter. */
function normalise(tokens: Token[]): Token[] {
  const result: Token[] = [];
  for (const token of tokens) {
    if (token.text === ';' && (result.length === 0 || result[result.length - 1]?.text === ';')) continue;
    result.push(token);
  }
  if (result[result.length - 1]?.text !== ';') result.push({ type: 'punct', text: ';' });
  return result;
}

/** A tiny JavaScript tokenizer for the subset the templates use; null for anything else. */
function tokenize(source: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const name = /^[A-Za-z_$][\w$]*/.exec(rest);
    if (name) {
      tokens.push({ type: 'name', text: name[0] });
      i += name[0].length;
      continue;
    }
    const number = /^\d+(?:\.\d+)?/.exec(rest);
    if (number) {
      tokens.push({ type: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    const quote = source[i];
    if (quote === '"' || quote === "'") {
      const literal = readString(source, i, quote);
      if (!literal) return null;
      tokens.push({ type: 'string', text: literal.value });
      i = literal.next;
      continue;
    }
    const punct = PUNCTUATION.find((p) => rest.startsWith(p));
    if (!punct) return null;
    tokens.push({ type: 'punct', text: punct });
    i += punct.length;
  }
  return tokens;
}

/** A quoted string with only `\'`, `\"` and `\\` escapes (what the SDKs produce). */
function readString(source: string, start: number, quote: string): { value: string; next: number } | null {
  let value = '';
  for (let i = start + 1; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === quote) return { value, next: i + 1 };
    if (ch === '\n' || ch === '\r') return null;
    if (ch === '\\') {
      const escaped = source[i + 1];
      if (escaped !== "'" && escaped !== '"' && escaped !== '\\') return null;
      value += escaped;
      i += 1;
    } else {
      value += ch;
    }
  }
  return null;
}
