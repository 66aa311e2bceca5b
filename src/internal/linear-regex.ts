/**
 * `$regex` as kinbase runs it: RE2 semantics (linear time in the length of the subject, whatever
 * the pattern), so no query can stall the event loop with catastrophic backtracking. Pure rules
 * shared by the query sanitiser (which refuses what kinbase will not run) and the embedded
 * store's matcher (which runs it).
 *
 * What is refused, with a 400 naming the reason:
 * - syntax RE2 has no linear-time algorithm for: backreferences (`\1`), lookahead and lookbehind
 *   (`(?=`, `(?!`, `(?<=`, `(?<!`), possessive and atomic groups;
 * - repetition of a group that itself repeats or alternates (`(a+)+`, `(a|aa)*`, `(\w+\s?){2,}`):
 *   harmless under RE2, but MongoDB runs `$regex` with PCRE, which backtracks exponentially on
 *   exactly these; refusing them on both stores keeps one query language;
 * - a pattern whose weight (regexWeight: its atoms with counted repetitions expanded, as RE2
 *   compiles them) exceeds MAX_REGEX_WEIGHT: compiling costs time in proportion to it (1,000
 *   characters of `x{1000}` weigh 111,000 and took 1.3 s to compile, the whole server waiting).
 */
import { RE2JS } from 're2js';

/** A compiled pattern: `test` runs in time linear in the subject's length. */
export interface LinearRegex {
  test(subject: string): boolean;
  readonly source: string;
  readonly options: string;
}

/**
 * Most weight (regexWeight) one pattern, and all patterns of one filter together, may have. Any
 * pattern of up to 1,000 characters without counted repetitions fits, as do `\d{4}`-style counts
 * and dozens of SDK-style searches (`^prefix`, `.*word.*`). Compiling costs up to about 12 µs per
 * unit of weight (111,000 took 1.3 s), so this keeps the compiles of one filter near 25 ms at worst.
 */
export const MAX_REGEX_WEIGHT = 2000;

/** Compiled patterns (and refusals) by options and source: identical `$regex` conditions compile once. */
const compiled = new Map<string, LinearRegex | Error>();
const MAX_CACHED = 256;

/**
 * Compiles a `$regex` with its `$options` (i, m, s, x) under RE2 semantics. Inline flags such as
 * `(?i)` work. Throws an Error whose message says what is not supported. Results are cached (the
 * sanitiser and the embedded matcher compile the same patterns), so a repeated pattern is cheap.
 */
export function compileLinearRegex(pattern: string, options = ''): LinearRegex {
  const key = `${options}\u0000${pattern}`;
  let entry = compiled.get(key);
  if (entry === undefined) {
    try {
      entry = compileUncached(pattern, options);
    } catch (err) {
      entry = err as Error;
    }
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
  } else {
    compiled.delete(key); // re-inserted below: the map's order is least recently used first
  }
  compiled.set(key, entry);
  if (entry instanceof Error) throw entry;
  return entry;
}

function compileUncached(pattern: string, options: string): LinearRegex {
  if (/[^imsx]/.test(options)) throw new Error(`unsupported $options "${options.slice(0, 20)}": use i, m, s and x`);
  const source = options.includes('x') ? stripExtended(pattern) : pattern;
  const problem = repetitionProblem(source);
  if (problem) throw new Error(problem);
  const weight = weightOf(source);
  if (!(weight <= MAX_REGEX_WEIGHT))
    throw new Error(
      `it weighs ${weight} once its counted repetitions are expanded (most: ${MAX_REGEX_WEIGHT}); such patterns take long to compile and are not run`,
    );
  let flags = 0;
  if (options.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
  if (options.includes('m')) flags |= RE2JS.MULTILINE;
  if (options.includes('s')) flags |= RE2JS.DOTALL;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, flags);
  } catch (err) {
    throw new Error(
      `not a regular expression kinbase runs (RE2 syntax, no backreferences or lookaround): ${(err as Error).message}`,
    );
  }
  return { source: pattern, options, test: (subject) => compiled.matcher(subject).find() };
}

/**
 * Finds a repeated group that itself repeats or alternates, which PCRE (MongoDB) may backtrack on
 * exponentially. Returns a message, or null when the pattern is fine. Escapes and character
 * classes are skipped; a group repeated at most once (`?`, `{0,1}`) or a fixed count `{n}` inside
 * is fine.
 */
function repetitionProblem(source: string): string | null {
  // One entry per open group: whether it holds a repetition or an alternation.
  const groups: { risky: boolean }[] = [];
  let lastClosedRisky = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\\') {
      i++;
      lastClosedRisky = false;
      continue;
    }
    if (ch === '[') {
      i = endOfClass(source, i);
      lastClosedRisky = false;
      continue;
    }
    if (ch === '(') {
      groups.push({ risky: false });
      lastClosedRisky = false;
      continue;
    }
    if (ch === ')') {
      const closed = groups.pop();
      lastClosedRisky = closed?.risky ?? false;
      if (lastClosedRisky && groups.length > 0) (groups[groups.length - 1] as { risky: boolean }).risky = true;
      continue;
    }
    if (ch === '|') {
      if (groups.length > 0) (groups[groups.length - 1] as { risky: boolean }).risky = true;
      lastClosedRisky = false;
      continue;
    }
    const repeat = repetitionAt(source, i);
    if (repeat) {
      if (repeat.many && lastClosedRisky) {
        return `$regex repeats a group that itself repeats or alternates (near "${source.slice(Math.max(0, i - 20), i + 1)}"); such patterns can take exponential time and are not run`;
      }
      if (repeat.many && groups.length > 0) (groups[groups.length - 1] as { risky: boolean }).risky = true;
      i = repeat.end;
      lastClosedRisky = false;
      continue;
    }
    lastClosedRisky = false;
  }
  return null;
}

/**
 * The size a pattern compiles to, in atoms: each literal, escape, class or anchor weighs 1, a group
 * weighs its contents, and a counted repetition `{n,m}` multiplies what it repeats by its largest
 * count (RE2 compiles `x{2,5}` as five copies of `x`). `*`, `+` and `?` add one copy. Cheap (one
 * pass over the source), so it is checked before anything is compiled. Unknown `$options` and
 * the `x` option are the caller's: pass the source as it will be compiled.
 */
export function regexWeight(pattern: string, options = ''): number {
  return weightOf(options.includes('x') ? stripExtended(pattern) : pattern);
}

function weightOf(source: string): number {
  // One frame per open group: the weight so far, and the weight of its last atom (what a quantifier repeats).
  const frames: { total: number; last: number }[] = [{ total: 0, last: 0 }];
  const top = () => frames[frames.length - 1] as { total: number; last: number };
  const atom = (weight: number) => {
    top().total += weight;
    top().last = weight;
  };
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\\') {
      // \p{Greek}, \x{263a}: the braces belong to the escape, not a repetition.
      const braced = /^[pPx]\{[^}]*\}/.exec(source.slice(i + 1, i + 40));
      i += braced ? braced[0].length : 1;
      atom(1);
    } else if (ch === '[') {
      i = endOfClass(source, i);
      atom(1);
    } else if (ch === '(') {
      frames.push({ total: 0, last: 0 });
      // (?:, (?i), (?P<name>: flags and names are no atoms.
      const prefix = /^\(\?(?:P?<\w*>|[a-zA-Z-]*:?)/.exec(source.slice(i, i + 64));
      if (prefix) i += prefix[0].length - 1;
    } else if (ch === ')' && frames.length > 1) {
      const group = frames.pop() as { total: number; last: number };
      atom(group.total);
    } else {
      const repeat = repetitionAt(source, i);
      if (!repeat) {
        atom(1);
        continue;
      }
      const copies = source[i] === '{' ? countedCopies(source.slice(i, repeat.end + 1)) : 2;
      top().total += top().last * (copies - 1);
      top().last *= copies;
      i = repeat.end;
    }
  }
  // Groups left open (a syntax error RE2 reports) still count.
  return frames.reduce((sum, frame) => sum + frame.total, 0);
}

/** How many copies of its atom `{n}`, `{n,}` or `{n,m}` compiles to. */
function countedCopies(quantifier: string): number {
  const [, low = '', comma = '', high = ''] = /^\{(\d*)(,?)(\d*)\}/.exec(quantifier) ?? [];
  // RE2 refuses counts over 1,000; clamping keeps the sum finite (never NaN) until it does.
  const n = Math.min(Number(low || 0), 1001);
  if (comma === '') return Math.max(n, 1);
  return high === '' ? n + 1 : Math.max(Math.min(Number(high), 1001), n, 1);
}

/** A quantifier starting at `i`: whether it can repeat more than once, and its last index. */
function repetitionAt(source: string, i: number): { many: boolean; end: number } | null {
  const ch = source[i];
  let end = i;
  let many: boolean;
  if (ch === '*' || ch === '+') many = true;
  else if (ch === '?') many = false;
  else if (ch === '{') {
    const counted = /^\{(\d*)(,?)(\d*)\}/.exec(source.slice(i));
    if (!counted || (counted[1] === '' && counted[3] === '')) return null;
    end = i + counted[0].length - 1;
    const max = counted[2] === '' ? Number(counted[1]) : counted[3] === '' ? Infinity : Number(counted[3]);
    // A fixed count {n} cannot be matched in more than one way; {n,m} with m > n can.
    many = counted[2] !== '' && max > 1 && max !== Number(counted[1]);
  } else {
    return null;
  }
  // Lazy and possessive suffixes belong to the quantifier.
  if (source[end + 1] === '?' || source[end + 1] === '+') end++;
  return { many, end };
}

function endOfClass(source: string, start: number): number {
  let i = start + 1;
  if (source[i] === '^') i++;
  if (source[i] === ']') i++;
  for (; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === ']') return i;
  }
  return source.length;
}

/**
 * The `x` (extended) option as PCRE applies it: unescaped whitespace and `#` comments outside
 * character classes are removed.
 */
export function stripExtended(source: string): string {
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
