/**
 * How the embedded store reads: candidates from a plan, or every document streamed in `_id` order,
 * or an index walked in key order, each in short synchronous slices with the event loop free in
 * between, so no query holds the process whatever the collection's size (a plan's residual checks
 * too: a batch of candidates at a time). Memory is bounded too:
 * candidate sets are capped, in-memory sorts keep only sort keys, and results have a byte budget.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { StoreError, type SortSpec, type StoredDocument } from '../../../../domain/ports';

import { compareStrings } from '../../mongo-semantics/values';
import { projectDocument, sortDocuments } from '../../mongo-semantics/ordering';
import { decodeDocument } from './documents';
import type { CollectionInfo, Engine, IndexInfo, Row } from './engine';
import { documentKeys } from './index-keys';
import type { Plan, Residual } from './planner';

/** Beyond this many candidates a plan is abandoned for a scan or an index walk. */
export const MAX_CANDIDATES = 20_000;
/** Sorting without an index keeps at most this many sort keys (skip + limit): more needs an index. */
export const MAX_IN_MEMORY_SORT = 100_000;
/** Candidates checked against a plan's residual clauses between two turns of the event loop, at most. */
export const RESIDUAL_BATCH = 256;
/** A residual clause with more keys than this is checked against the candidate's own keys (one lookup). */
const FEW_KEYS = 8;
/** Keys of one candidate read for a wide check at most; one with more is probed key by key. */
const MAX_OWN_KEYS = 1024;
const SLICE_MS = 4;
const PAGE = 256;

export type Matcher = ((doc: StoredDocument) => boolean) | null;

/** Yields to the event loop once a slice of synchronous work has taken SLICE_MS, or `maxSteps` paces. */
export class Pacer {
  private started = performance.now();
  private steps = 0;
  constructor(private readonly maxSteps = Infinity) {}
  async pace(): Promise<void> {
    if (++this.steps < this.maxSteps && performance.now() - this.started < SLICE_MS) return;
    await nextTurn();
    this.started = performance.now();
    this.steps = 0;
  }
}

/**
 * The ids of existing documents a plan names that pass its residual clauses, sorted, or null when
 * the plan names more than `max`. Ids a filter names (`_id` equality, `$in`) are kept only when
 * their document exists: an exact plan's candidates are counted and paged without reading the
 * documents, so each must be a match. Paced: the event loop gets a turn between sources and
 * between batches of residual checks, so a hostile `$and` of wide `$in` clauses over 20,000
 * candidates holds no one up.
 */
export async function candidates(
  engine: Engine,
  coll: CollectionInfo,
  plan: Plan,
  max = MAX_CANDIDATES,
): Promise<string[] | null> {
  const ids = new Set<string>();
  const pacer = new Pacer();
  for (const source of plan.sources) {
    // Up to max + 1 rows from each source: ids it shares with earlier ones must not crowd out new ones.
    // Index rows always name existing documents (written in the same transaction as the document).
    const found =
      source.kind === 'ids'
        ? source.ids.filter((id) => engine.exists(coll, id))
        : engine.idsInRange(source.ix, source.low, source.high, source.highExclusive, max + 1, source.readableByAll);
    // A full page of rows may hide more (a multikey document has several rows): too many to know.
    if (source.kind === 'range' && found.length > max) return null;
    for (const id of found) ids.add(id);
    if (ids.size > max) return null;
    await pacer.pace();
  }
  const checks = residualChecks(plan.residual ?? []);
  if (checks.length === 0) return [...ids].sort(compareStrings);
  const kept: string[] = [];
  const batches = new Pacer(RESIDUAL_BATCH);
  for (const id of ids) {
    if (passes(engine, checks, id)) kept.push(id);
    await batches.pace();
  }
  return kept.sort(compareStrings);
}

interface ResidualCheck {
  ix: number;
  keys: Buffer[];
  /** The keys as latin1 strings (one character per byte), for set lookups. */
  wanted: Set<string>;
}

/** The residual clauses, each once (a repeated clause decides nothing new), with their keys as a set. */
function residualChecks(residual: readonly Residual[]): ResidualCheck[] {
  const distinct = new Map<string, ResidualCheck>();
  for (const { ix, keys } of residual) {
    const wanted = new Set(keys.map((key) => key.toString('latin1')));
    const id = JSON.stringify([ix, [...wanted].sort()]);
    if (!distinct.has(id)) distinct.set(id, { ix, keys, wanted });
  }
  return [...distinct.values()];
}

/**
 * Whether candidate `id` holds one of the keys of every check. A check of a few keys looks each
 * up; a wider one reads the candidate's own keys in that index once and looks them up in the set,
 * so a clause of 1,000 keys costs one index read per candidate, not 1,000. A candidate holding
 * more than MAX_OWN_KEYS keys there (a long array) is probed key by key after that, so no
 * candidate costs more than about MAX_OWN_KEYS + the check's keys (at most 5,000) lookups.
 */
function passes(engine: Engine, checks: readonly ResidualCheck[], id: string): boolean {
  const own = new Map<number, string[]>();
  return checks.every((check) => {
    const probe = () => check.keys.some((key) => engine.hasEntry(check.ix, key, id));
    if (check.keys.length <= FEW_KEYS) return probe();
    let keys = own.get(check.ix);
    if (!keys)
      own.set(check.ix, (keys = engine.keysOf(check.ix, id, MAX_OWN_KEYS + 1).map((key) => key.toString('latin1'))));
    if (keys.some((key) => check.wanted.has(key))) return true;
    // Only some of its keys were read (a long array): the check's own keys are probed instead.
    return keys.length > MAX_OWN_KEYS && probe();
  });
}

/** Calls `visit` with matching documents from `ids`, in that order, until it returns false. */
export async function visitIds(
  engine: Engine,
  coll: CollectionInfo,
  ids: readonly string[],
  matches: Matcher,
  visit: (doc: StoredDocument, row: Row) => boolean,
): Promise<void> {
  const pacer = new Pacer();
  for (const id of ids) {
    const row = engine.getRow(coll, id);
    if (row) {
      const doc = decodeDocument(row.body, row.dates);
      if ((!matches || matches(doc)) && !visit(doc, row)) return;
    }
    await pacer.pace();
  }
}

/** Every matching document, from the candidates when a plan names them, else a scan in `_id` order. */
export async function visitMatching(
  engine: Engine,
  coll: CollectionInfo,
  ids: readonly string[] | null,
  matches: Matcher,
  visit: (doc: StoredDocument) => boolean,
): Promise<void> {
  if (ids) await visitIds(engine, coll, ids, matches, visit);
  else await visitAll(engine, coll, matches, false, visit);
}

/** Calls `visit` with matching documents in `_id` order, from the `skip`th when nothing needs matching. */
export async function visitAll(
  engine: Engine,
  coll: CollectionInfo,
  matches: Matcher,
  descending: boolean,
  visit: (doc: StoredDocument, row: Row) => boolean,
  skipUnmatched = 0,
): Promise<void> {
  const pacer = new Pacer();
  let after: string | null = null;
  if (!matches && skipUnmatched > 0) {
    const start = engine.idAt(coll, skipUnmatched - 1, descending);
    if (start === undefined) return;
    after = start;
  }
  for (;;) {
    const rows = engine.page(coll, after, PAGE, descending);
    for (const row of rows) {
      const doc = decodeDocument(row.body, row.dates);
      if ((!matches || matches(doc)) && !visit(doc, row)) return;
    }
    if (rows.length === 0) return;
    after = (rows[rows.length - 1] as Row).id;
    await pacer.pace();
  }
}

/**
 * Calls `visit` with matching documents in `sort` order, walking the index of the first sort key:
 * documents sharing a key are ordered by the other keys and `_id`. A multikey document is taken
 * at its first key in walk order only (MongoDB sorts arrays by their smallest, or largest, element).
 */
export async function visitByIndex(
  engine: Engine,
  coll: CollectionInfo,
  index: IndexInfo,
  sort: SortSpec,
  matches: Matcher,
  visit: (doc: StoredDocument, row: Row) => boolean,
): Promise<void> {
  const pacer = new Pacer();
  const descending = (sort[0] as readonly [string, 1 | -1])[1] === -1;
  let key = engine.nextKey(index.ix, null, descending);
  while (key) {
    const run: { doc: StoredDocument; row: Row }[] = [];
    let afterId: string | null = null;
    for (;;) {
      const ids = engine.idsWithKey(index.ix, key, afterId, PAGE);
      for (const id of ids) {
        const row = engine.getRow(coll, id);
        if (!row) continue;
        const doc = decodeDocument(row.body, row.dates);
        if (index.multikey && !firstKeyIs(doc, index, key, descending)) continue;
        if (matches && !matches(doc)) continue;
        // One sort key: documents sharing it are already in `_id` order, nothing to hold.
        if (sort.length === 1) {
          if (!visit(doc, row)) return;
        } else if (run.push({ doc, row }) > MAX_IN_MEMORY_SORT) throw tooManyToSort();
      }
      await pacer.pace();
      if (ids.length < PAGE) break;
      afterId = ids[ids.length - 1] as string;
    }
    const rowsById = new Map(run.map((entry) => [entry.doc._id, entry.row]));
    const ordered =
      sort.length > 1
        ? sortDocuments(
            run.map((entry) => entry.doc),
            sort,
          )
        : run.map((entry) => entry.doc);
    for (const doc of ordered) if (!visit(doc, rowsById.get(doc._id) as Row)) return;
    key = engine.nextKey(index.ix, key, descending);
  }
}

function firstKeyIs(doc: StoredDocument, index: IndexInfo, key: Buffer, descending: boolean): boolean {
  const keys = documentKeys(doc, index.path).keys.sort((a, b) => Buffer.compare(a, b));
  const first = descending ? keys[keys.length - 1] : keys[0];
  return first !== undefined && first.equals(key);
}

/**
 * Sorts without an index: keeps the sort fields of at most `keep` best documents (never whole
 * documents), then the caller fetches the page by id.
 */
export class TopDocuments {
  private entries: StoredDocument[] = [];
  private readonly bounded: boolean;
  /** `keep`: skip + limit; Infinity (no limit) still holds at most MAX_IN_MEMORY_SORT. */
  constructor(
    private readonly sort: SortSpec,
    private readonly keep: number,
  ) {
    this.bounded = Number.isFinite(keep);
    if (this.bounded && keep > MAX_IN_MEMORY_SORT) throw tooManyToSort();
  }
  add(doc: StoredDocument): boolean {
    this.entries.push(
      projectDocument(
        doc,
        this.sort.map(([field]) => field),
      ),
    );
    if (!this.bounded && this.entries.length > MAX_IN_MEMORY_SORT) throw tooManyToSort();
    if (this.bounded && this.entries.length >= this.keep * 2 + PAGE)
      this.entries = sortDocuments(this.entries, this.sort).slice(0, this.keep);
    return true;
  }
  ids(skip: number, limit: number): string[] {
    return sortDocuments(this.entries, this.sort)
      .slice(skip, skip + limit)
      .map((doc) => doc._id);
  }
}

function tooManyToSort(): StoreError {
  return new StoreError(
    'invalid',
    `sorting more than ${MAX_IN_MEMORY_SORT} documents needs an index on the sort field (collections.<name>.indexes)`,
  );
}
