/**
 * One page of a find on the embedded engine: which of the reading strategies (reading.ts) answers
 * it, given the plan's candidates, the sort and the indexes. Every strategy yields matching
 * documents in the answer's order; the page takes skip, limit, projection and the byte budget.
 */
import type { Filter, FindOptions, SortSpec, StoredDocument } from '../../../../domain/ports';
import { projectDocument } from '../../mongo-semantics/ordering';
import { compileFilter } from '../../mongo-semantics/matcher';
import type { CollectionInfo, Engine, IndexInfo } from './engine';
import { Budget } from '../../result-budget';
import { TopDocuments, visitAll, visitByIndex, visitIds, visitMatching, type Matcher } from './reading';

/** What a plan named: candidate ids (sorted), and whether they all match without a check. */
export interface Selection {
  ids: string[];
  exact: boolean;
}

export async function findPage(
  engine: Engine,
  coll: CollectionInfo,
  selection: Selection | null,
  filter: Filter,
  options: FindOptions,
  maxResultBytes: number,
): Promise<StoredDocument[]> {
  const skip = options.skip ?? 0;
  // limit 0 means "no limit", as in MongoDB.
  const limit = options.limit ? options.limit : Infinity;
  const sort = normalizeSort(options.sort);
  const budget = new Budget(maxResultBytes);
  const page: StoredDocument[] = [];
  let skipped = 0;
  const collect = (doc: StoredDocument, row: { body: string }): boolean => {
    if (skipped < skip) {
      skipped += 1;
      return true;
    }
    // What the answer holds: a projection keeps only its fields of a (possibly large) document.
    const kept = options.fields ? projectDocument(doc, options.fields) : doc;
    budget.charge(options.fields ? JSON.stringify(kept).length : row.body.length);
    page.push(kept);
    return page.length < limit;
  };
  const ids = selection?.ids ?? null;
  // Candidates of an exact plan all match: no document is read just to be checked.
  const matches = selection?.exact ? null : matcherOf(filter);
  const sortIndex = sort.length > 0 && sort[0]?.[0] !== '_id' ? sortIndexOf(coll, sort) : undefined;
  if (ids && sort.length === 0) {
    if (!matches) skipped = skip;
    await visitIds(engine, coll, matches ? ids : ids.slice(skip), matches, collect);
  } else if (ids && sort[0]?.[0] === '_id' && sort[0][1] === -1) {
    await visitIds(engine, coll, [...ids].reverse(), matches, collect);
  } else if (ids && !matches && sortIndex && sort.length === 1) {
    // Sorted by the index's keys of the candidates alone; only the page is read.
    skipped = skip;
    await visitIds(
      engine,
      coll,
      engine.sortByKeys(sortIndex.ix, ids, sort[0]?.[1] === -1).slice(skip, skip + limit),
      null,
      collect,
    );
  } else if (!ids && sortIndex) {
    await visitByIndex(engine, coll, sortIndex, sort, matches, collect);
  } else if (sort.length === 0 || sort[0]?.[0] === '_id') {
    if (!matches) skipped = skip;
    await visitAll(engine, coll, matches, sort[0]?.[1] === -1, collect, matches ? 0 : skip);
  } else {
    const top = new TopDocuments(sort, Number.isFinite(limit) ? skip + limit : Infinity);
    await visitMatching(engine, coll, ids, matches, (doc) => top.add(doc));
    skipped = skip;
    await visitIds(engine, coll, top.ids(skip, limit), null, collect);
  }
  return page;
}

export function matcherOf(filter: Filter): Matcher {
  return Object.keys(filter).length === 0 ? null : compileFilter(filter);
}

/** An index that orders by the first sort key exactly (ready, every key exact, not sparse). */
function sortIndexOf(coll: CollectionInfo, sort: SortSpec): IndexInfo | undefined {
  const index = coll.indexes.get((sort[0] as readonly [string, 1 | -1])[0]);
  return index && index.ready && index.sortable && !index.sparse ? index : undefined;
}

/** Drops repeated fields and everything after `_id` (ties are broken by `_id` already). */
function normalizeSort(sort: SortSpec = []): SortSpec {
  const out: (readonly [string, 1 | -1])[] = [];
  for (const entry of sort) {
    if (out.some(([field]) => field === entry[0])) continue;
    out.push(entry);
    if (entry[0] === '_id') break;
  }
  return out.length === 1 && out[0]?.[0] === '_id' && out[0][1] === 1 ? [] : out;
}
