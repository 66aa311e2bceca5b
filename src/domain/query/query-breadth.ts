/**
 * How broad one filter may be, counted while the query sanitiser (parse-query.ts) walks it: nodes,
 * `$in`-style list items, `$regex` conditions, and the weight of the distinct patterns together.
 * Bounds are checked before anything expensive happens (patterns are compiled last, each distinct
 * one once), so no filter, however it is built, costs more than a few milliseconds to validate,
 * plan and compile. Over a bound: 400 InvalidQuerySyntax naming it.
 */
import { errors } from '../errors';
import { compileLinearRegex, MAX_REGEX_WEIGHT, regexWeight } from '../../internal/linear-regex';

// Why these numbers: a GET's whole `query` fits Node's 16 KiB header limit, so an SDK query there
// has at most a few thousand nodes (`contains('_id', ids)` of 20-character ids: about 700 items);
// POSTed conditions (`_group`, `_lookup`) and Business Logic get the same room, several times what
// an SDK builds, and far below what costs the event loop a noticeable slice.

/** Object keys and array elements, at every depth (the filter's own object not counted). */
export const MAX_QUERY_NODES = 10_000;
/** Items of every `$in`, `$nin` and `$all` together. */
export const MAX_QUERY_LIST_ITEMS = 5_000;
/** `$regex` conditions, identical ones included (SDK searches use a handful). */
export const MAX_QUERY_REGEXES = 64;

export interface RegexCondition {
  pattern: string;
  options: string | undefined;
  at: string;
}

/** Counts a filter's breadth while it is walked; throws as soon as a bound is passed. */
export class Tally {
  private nodes = 0;
  private items = 0;
  readonly regexes: RegexCondition[] = [];

  node(): void {
    if (++this.nodes > MAX_QUERY_NODES)
      throw errors.invalidQuerySyntax(
        `The query has more than ${MAX_QUERY_NODES} keys and array elements (the most a query may have).`,
      );
  }

  listItems(n: number): void {
    this.items += n;
    if (this.items > MAX_QUERY_LIST_ITEMS)
      throw errors.invalidQuerySyntax(
        `The query's $in, $nin and $all lists hold more than ${MAX_QUERY_LIST_ITEMS} items together (the most a query may have).`,
      );
  }

  regex(condition: RegexCondition): void {
    if (this.regexes.push(condition) > MAX_QUERY_REGEXES)
      throw errors.invalidQuerySyntax(
        `The query has more than ${MAX_QUERY_REGEXES} $regex conditions (the most a query may have).`,
      );
  }
}

/** Compiles each distinct pattern once, after checking their weight together (internal/linear-regex.ts). */
export function compileRegexes(conditions: readonly RegexCondition[]): void {
  const distinct = new Map<string, RegexCondition>();
  for (const condition of conditions) distinct.set(`${condition.options ?? ''}\u0000${condition.pattern}`, condition);
  let weight = 0;
  for (const { pattern, options } of distinct.values()) weight += regexWeight(pattern, options);
  if (!(weight <= MAX_REGEX_WEIGHT)) {
    throw errors.invalidQuerySyntax(
      `The query's $regex patterns weigh ${weight} together once counted repetitions are expanded (most: ${MAX_REGEX_WEIGHT}; "a{100}" weighs 100).`,
    );
  }
  for (const { pattern, options, at } of distinct.values()) {
    try {
      compileLinearRegex(pattern, options);
    } catch (err) {
      throw errors.invalidQuerySyntax(`$regex at ${at} is not run: ${(err as Error).message}`);
    }
  }
}
