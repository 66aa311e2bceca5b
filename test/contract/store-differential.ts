/**
 * Differential property testing of document stores: random sequences of writes (inserts, upserts,
 * replaces, field updates, deletes by id and by query, the deletes through the delta-set deletion
 * log) interleaved with reads of every shape the API has (find with sort, skip, limit and fields;
 * `_count`; `_group`; findByIds; the delta-set read of changed entities and tombstones), each
 * read as a plain user (the ACL filter first, as the domain builds it) or as master. Every store
 * under test must give exactly the answers of the ReferenceDocumentStore (a scan through the
 * MongoDB-semantics matcher): an index may change speed, never an answer.
 */
import fc from 'fast-check';
import { restrict } from '../../src/domain/access/acl';
import { DeletionLog } from '../../src/domain/appdata/deletion-log';
import { MonotonicClock } from '../../src/domain/appdata/monotonic-clock';
import {
  StoreError,
  type CollectionScope,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type GroupSpec,
  type GroupStats,
  type SortSpec,
  type StoredDocument,
} from '../../src/domain/ports';
import { copy, ReferenceDocumentStore } from '../support/reference-document-store';

/** Indexed fields of the stores under test: every field the generated documents and filters use. */
export const INDEXED_FIELDS = [
  'a',
  'b',
  'tags',
  'o.x',
  'o.y',
  'items.k',
  '_acl.creator',
  '_acl.gr',
  '_acl.gw',
  '_acl.roles.r',
  '_kmd.lmt',
];
/** Ids of the sequences: writes and `_id` filters draw from the same few, so they meet deleted and never-written ones. */
const IDS = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'];
const NEVER_WRITTEN = 'never';
const START = Date.UTC(2026, 0, 1);
const COMMON = 4;

/** What the generators may produce; a server with known gaps gets a narrower profile. */
export interface Profile {
  /** Whether documents hold arrays of objects (`items: [{k}]`, `o: [{x}]`). */
  objectArrays: boolean;
}

export const FULL_PROFILE: Profile = { objectArrays: true };

/** Values of fields and conditions; the first few come more often, so that conditions meet documents. */
const SCALARS = [
  1,
  'a',
  null,
  true,
  2,
  'b',
  false,
  0,
  -0,
  -1.5,
  1e300,
  -3,
  3,
  '',
  'ab',
  'B',
  'é',
  '😀',
  'a'.repeat(1100),
  `${'a'.repeat(1100)}b`,
];
/** Field operators the filters use besides equality. */
const OPERATORS = ['$eq', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$ne', '$exists'] as const;
const SORT_FIELDS = ['a', 'b', 'tags', 'o.x', 'o.y', 'items.k', '_acl.creator', '_kmd.lmt', '_id'];

type Write =
  | { kind: 'insert' | 'upsert'; id: string; doc: Record<string, unknown> }
  | { kind: 'replace'; id: string; doc: Record<string, unknown>; filter: Filter }
  | { kind: 'setFields'; id: string; fields: Record<string, unknown>; filter: Filter }
  | { kind: 'deleteById'; id: string; filter: Filter; tracked: boolean }
  | { kind: 'deleteMany'; filter: Filter; tracked: boolean; writer: Reader };
type Reader = 'master' | 'u1' | 'u2';
type Read = { kind: 'read'; filter: Filter; reader: Reader; options: FindOptions; group: GroupSpec; since: number };
export type Step = Write | Read;

/** The arbitraries of one profile: a sequence is a list of steps. */
export function sequenceOf(profile: Profile, maxSteps = 24): fc.Arbitrary<Step[]> {
  const scalar = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...SCALARS.slice(0, COMMON)) },
    fc.constantFrom(...SCALARS),
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: scalar },
    fc.array(scalar, { maxLength: 3 }),
    fc.constant(new Date('2024-01-01T00:00:00Z')),
    fc.record({ z: scalar }),
  );
  const doc = fc.record(
    {
      a: value,
      b: value,
      tags: fc.oneof(fc.array(scalar, { maxLength: 4 }), scalar),
      o: fc.oneof(
        fc.record({ x: value, y: value }, { requiredKeys: [] }),
        scalar,
        ...(profile.objectArrays ? [fc.array(fc.record({ x: scalar }, { requiredKeys: [] }), { maxLength: 2 })] : []),
      ),
      ...(profile.objectArrays
        ? { items: fc.array(fc.record({ k: scalar }, { requiredKeys: [] }), { maxLength: 3 }) }
        : {}),
      _acl: fc.record(
        {
          creator: fc.constantFrom('u1', 'u2'),
          gr: fc.boolean(),
          gw: fc.oneof(fc.boolean(), scalar),
          roles: fc.record({ r: fc.subarray(['role-1', 'role-2', 'all-users']) }),
        },
        { requiredKeys: ['creator'] },
      ),
    },
    { requiredKeys: ['_acl'] },
  ) as fc.Arbitrary<Record<string, unknown>>;
  const id = fc.constantFrom(...IDS);
  const field = fc.constantFrom(
    ...INDEXED_FIELDS.filter((f) => !f.startsWith('_') && (profile.objectArrays || f !== 'items.k')),
  );
  const operator = (op: (typeof OPERATORS)[number]): fc.Arbitrary<unknown> => {
    if (op === '$in' || op === '$nin') return fc.record({ [op]: fc.array(scalar, { maxLength: 3 }) });
    if (op === '$exists') return fc.record({ $exists: fc.boolean() });
    return fc.record({ [op]: scalar });
  };
  const condition = fc.oneof(
    { weight: 4, arbitrary: scalar },
    ...OPERATORS.map(operator),
    fc.record({ $gte: scalar, $lt: scalar }),
  );
  const simple = fc.dictionary(field, condition, { minKeys: 1, maxKeys: 2 }) as fc.Arbitrary<Filter>;
  const byId = fc
    .oneof(
      id,
      fc.constant(NEVER_WRITTEN),
      fc.record({ $eq: id }),
      fc.record({ $in: fc.array(fc.oneof(id, fc.constant(NEVER_WRITTEN)), { maxLength: 4 }) }),
    )
    .map((condition): Filter => ({ _id: condition }));
  const clause = fc.oneof({ weight: 3, arbitrary: simple }, byId);
  // One equality: the shape the planner answers from an index alone (an exact plan, no matcher).
  const equality = fc.tuple(field, scalar).map(([f, v]): Filter => ({ [f]: v }));
  const part = fc.oneof({ weight: 2, arbitrary: equality }, simple);
  const filter: fc.Arbitrary<Filter> = fc.oneof(
    { weight: 3, arbitrary: simple },
    { weight: 2, arbitrary: byId },
    { weight: 2, arbitrary: fc.constant({}) },
    fc.array(clause, { minLength: 1, maxLength: 3 }).map((branches) => ({ $or: branches })),
    fc.array(clause, { minLength: 1, maxLength: 3 }).map((clauses) => ({ $and: clauses })),
    fc
      .tuple(fc.array(clause, { minLength: 1, maxLength: 3 }), clause)
      .map(([branches, rest]) => ({ $and: [{ $or: branches }, rest] })),
    // Nested shapes a client may send: `$and` inside `$and` and inside `$or`.
    {
      weight: 2,
      arbitrary: fc.tuple(part, part, fc.oneof(part, clause)).map(([x, y, z]) => ({ $and: [{ $and: [x, y] }, z] })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(part, part, fc.oneof(part, clause)).map(([x, y, z]) => ({ $or: [{ $and: [x, y] }, z] })),
    },
    fc.tuple(byId, simple).map(([ids, rest]) => ({ $and: [ids, rest] })),
  );
  const sort = fc.array(fc.tuple(fc.constantFrom(...SORT_FIELDS), fc.constantFrom(1 as const, -1 as const)), {
    maxLength: 2,
  }) as fc.Arbitrary<SortSpec>;
  const fields = fc.uniqueArray(fc.constantFrom('a', 'b', 'tags', 'o', 'o.x', 'items', '_acl', '_kmd'), {
    minLength: 1,
    maxLength: 3,
  });
  const options: fc.Arbitrary<FindOptions> = fc.record(
    {
      sort,
      skip: fc.integer({ min: 0, max: 3 }),
      limit: fc.integer({ min: 0, max: 5 }),
      fields,
    },
    { requiredKeys: [] },
  );
  const group: fc.Arbitrary<GroupSpec> = fc.record({
    keys: fc.uniqueArray(fc.constantFrom('a', 'b', 'tags', 'o.x', '_acl.creator'), { maxLength: 2 }),
    field: fc.constantFrom('a', 'b', 'o.x', 'tags'),
    statistics: fc.constantFrom('count' as const, 'sum' as const, 'numeric' as const),
    maxGroups: fc.constant(100),
  });
  // The condition of an ACL-checked or optimistic write (none, most often).
  const writeFilter = fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, simple);
  const write: fc.Arbitrary<Write> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('insert' as const, 'upsert' as const), id, doc }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace' as const), id, doc, filter: writeFilter }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('setFields' as const),
        id,
        fields: fc.dictionary(fc.constantFrom('a', 'b', 'tags'), value, { minKeys: 1, maxKeys: 2 }),
        filter: writeFilter,
      }),
    },
    // `tracked`: through the deletion log of a delta-set collection, else straight to the store.
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('deleteById' as const),
        id,
        filter: writeFilter,
        tracked: fc.boolean(),
      }),
    },
    fc.record({
      kind: fc.constant('deleteMany' as const),
      filter,
      tracked: fc.boolean(),
      writer: fc.constantFrom('master' as const, 'u1' as const, 'u2' as const),
    }),
  );
  const read: fc.Arbitrary<Read> = fc.record({
    kind: fc.constant('read' as const),
    filter,
    reader: fc.constantFrom('master' as const, 'u1' as const, 'u2' as const),
    options,
    group,
    since: fc.nat({ max: maxSteps }),
  });
  // A sequence starts from a few inserted documents, so that reads and writes meet some.
  const seed = fc
    .array(doc, { minLength: 2, maxLength: IDS.length, size: 'max' })
    .map((docs) => docs.map((d, i): Write => ({ kind: 'insert', id: IDS[i] as string, doc: d })));
  const steps = fc.array(fc.oneof({ weight: 3, arbitrary: write }, { weight: 2, arbitrary: read }), {
    minLength: 1,
    maxLength: maxSteps,
    size: '+1',
  });
  return fc.tuple(seed, steps).map(([inserts, rest]) => [...inserts, ...rest]);
}

/** A store under test, with the deletion log the delta sets of its collection use. */
interface Subject {
  name: string;
  store: DocumentStore;
  log: DeletionLog;
}

/**
 * Runs `steps` on every store of `stores` and on a fresh reference, in `appKey` (fresh per call),
 * comparing every write's outcome and every read's answer with the reference's. `prepare` runs
 * on each store before the first write (indexes).
 */
export async function expectSameAsReference(
  stores: Record<string, DocumentStore>,
  appKey: string,
  steps: readonly Step[],
  prepare?: (store: DocumentStore, scope: CollectionScope) => Promise<void>,
): Promise<void> {
  const scope: CollectionScope = { appKey, collection: 'c' };
  let tick = 0;
  const clock = (): Date => new Date(START + tick * 1000);
  const subject = (name: string, store: DocumentStore): Subject => ({
    name,
    store,
    log: new DeletionLog(store, {
      clock,
      writeClock: new MonotonicClock(clock),
      retentionDays: 30,
      trackedCollections: () => ['c'],
    }),
  });
  const reference = subject('reference', new ReferenceDocumentStore());
  const subjects = Object.entries(stores).map(([name, store]) => subject(name, store));
  for (const s of subjects) await prepare?.(s.store, scope);
  const last: Read = {
    kind: 'read',
    filter: {},
    reader: 'master',
    options: {},
    group: { keys: [], statistics: 'count', maxGroups: 100 },
    since: 0,
  };
  for (const [i, step] of [...steps, last].entries()) {
    tick = i + 1;
    const expected = await outcome(() => perform(reference, scope, step, clock));
    for (const s of subjects) {
      const seen = await outcome(() => perform(s, scope, step, clock));
      if (!isDeepEqual(seen, expected)) {
        throw new Error(
          `${s.name} differs from the reference at step ${i} ${show(step)}\n  expected ${show(expected)}\n  seen     ${show(seen)}`,
        );
      }
    }
  }
}

/** Every answer of one step, in a canonical form (-0 as 0, Dates tagged, groups sorted). */
async function perform(s: Subject, scope: CollectionScope, step: Step, clock: () => Date): Promise<unknown> {
  const { store, log } = s;
  const stamped = (doc: Record<string, unknown>, id: string): StoredDocument => ({
    ...copy(doc),
    _id: id,
    _kmd: { lmt: clock().toISOString() },
  });
  switch (step.kind) {
    case 'insert':
      return store.insert(scope, stamped(step.doc, step.id));
    case 'upsert':
      return store.upsert(scope, stamped(step.doc, step.id));
    case 'replace':
      return store.replace(scope, stamped(step.doc, step.id), copy(step.filter));
    case 'setFields':
      return store.setFields(
        scope,
        step.id,
        { ...copy(step.fields), '_kmd.lmt': clock().toISOString() },
        copy(step.filter),
      );
    case 'deleteById': {
      if (!step.tracked) return store.deleteById(scope, step.id, copy(step.filter));
      const [existing] = await store.findByIds(scope, [step.id]);
      return existing ? log.deleteOne(scope, existing, copy(step.filter)) : 'not found';
    }
    case 'deleteMany': {
      // As the domain builds it: the writer's ACL clause first (acl.ts writeFilter), then the query.
      const writable =
        step.writer === 'master' ? null : { $or: [{ '_acl.creator': step.writer }, { '_acl.gw': true }] };
      const filter = restrict(copy(step.filter), writable);
      return step.tracked ? log.deleteMatching(scope, filter) : store.deleteMany(scope, filter);
    }
    case 'read':
      return read(s, scope, step);
  }
}

async function read(s: Subject, scope: CollectionScope, step: Read): Promise<unknown> {
  const { store, log } = s;
  // As acl-scope.ts builds it for a user without `r` grants or groups; u1 holds role-1 (every user all-users).
  const acl =
    step.reader === 'master'
      ? null
      : {
          $or: [
            { '_acl.creator': step.reader },
            { '_acl.gr': true },
            { '_acl.gw': true },
            { '_acl.roles.r': { $in: step.reader === 'u1' ? ['all-users', 'role-1'] : ['all-users'] } },
          ],
        };
  // As the domain builds them: the ACL clause first, then the client's query.
  const filter = (): Filter => restrict(copy(step.filter), acl);
  const since = new Date(START + step.since * 1000).toISOString();
  const changedFilter = { '_kmd.lmt': { $gte: since } };
  const query = filter();
  const changed = await store.find(
    scope,
    Object.keys(query).length === 0 ? changedFilter : { $and: [changedFilter, query] },
    {
      ...(step.options.sort ? { sort: step.options.sort } : {}),
      ...(step.options.fields ? { fields: step.options.fields } : {}),
    },
  );
  const present = new Set(changed.map((doc) => doc._id));
  // The reader's ACL scope, reduced to what the log asks of it: its clause first, then the tombstone query.
  const deleted = (
    await log.deletedSince(scope, since, { readable: (tombstones) => restrict(tombstones, acl) }, 10_001)
  ).ids.filter((id) => !present.has(id));
  return canonical({
    find: await store.find(scope, filter(), copy(step.options)),
    count: await store.count(scope, filter()),
    group: sortGroups(await store.group(scope, filter(), step.group), step.group),
    byIds: (await store.findByIds(scope, [...IDS, NEVER_WRITTEN], filter())).map((doc) => doc._id).sort(),
    delta: { changed, deleted: deleted.sort() },
  });
}

/** Groups in key order, with only the statistics asked for (the others are unspecified). */
function sortGroups(groups: GroupStats[], spec: GroupSpec): unknown[] {
  const asked: (keyof GroupStats)[] =
    spec.statistics === 'count'
      ? ['key', 'count']
      : spec.statistics === 'sum'
        ? ['key', 'sum']
        : ['key', 'count', 'numeric', 'sum', 'min', 'max'];
  return groups
    .map((g) => canonical(asked.map((f) => g[f])))
    .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
}

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return canonical({ ok: (await run()) ?? null });
  } catch (err) {
    if (err instanceof StoreError) return { error: err.kind };
    throw err;
  }
}

function canonical(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  return value;
}

function isDeepEqual(x: unknown, y: unknown): boolean {
  return JSON.stringify(sortedKeys(x)) === JSON.stringify(sortedKeys(y));
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortedKeys(v)]),
    );
  return value;
}

function show(value: unknown): string {
  return JSON.stringify(canonical(value), (_k, v: unknown) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 8)}…(${v.length})` : v,
  );
}

/**
 * fast-check's seed for the differential runs: fixed, so `npm test` and CI explore the same
 * sequences every time and a failure is reproducible rather than a one-off; a contributor hunting
 * for new mismatches sets KINBASE_PROPERTY_SEED to a number, or to `random` for a fresh seed.
 */
export function propertySeed(): { seed?: number } {
  const given = process.env.KINBASE_PROPERTY_SEED;
  if (given === 'random') return {};
  return { seed: given ? Number(given) : 0x6b696e };
}
