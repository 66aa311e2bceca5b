/**
 * Index plans never change an answer: for random documents, filters, sorts and pages, the embedded
 * store with every field indexed (and with candidate limits that force index walks and scans)
 * returns exactly what the same store returns without indexes, after inserts, replaces, setFields and deletes, where every query is a plain scan
 * through the MongoDB-semantics matcher (itself held to MongoDB by the contract suite).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded.document-store';
import type { CollectionScope, Filter, FindOptions, SortSpec, StoredDocument } from '../../src/ports';

const FIELDS = ['a', 'b', 'tags', 'o.x', 'o.y', 'items.k', '_acl.creator', '_acl.gr', '_acl.gw'];
let work: string;
let plain: EmbeddedDocumentStore;
const indexed: EmbeddedDocumentStore[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kinbase-plans-'));
  plain = new EmbeddedDocumentStore({ dir: path.join(work, 'plain') });
  for (const maxCandidates of [20_000, 3, 0]) indexed.push(new EmbeddedDocumentStore({ dir: path.join(work, `indexed-${maxCandidates}`), maxCandidates }));
});
afterAll(async () => {
  await Promise.all([plain, ...indexed].map((store) => store.close()));
  await rm(work, { recursive: true, force: true });
});

const scalar = fc.oneof(fc.constantFrom(null, true, false, 0, -0, 1, 2, -1.5, 1e300, '', 'a', 'b', 'ab', 'B', 'é', '😀', 'a'.repeat(1100), 'a'.repeat(1100) + 'b'), fc.integer({ min: -3, max: 3 }));
const value = fc.oneof({ weight: 4, arbitrary: scalar }, fc.array(scalar, { maxLength: 3 }), fc.constant(new Date('2024-01-01T00:00:00Z')), fc.record({ z: scalar }));
const doc = fc.record(
  {
    a: value,
    b: value,
    tags: fc.oneof(fc.array(scalar, { maxLength: 4 }), scalar),
    o: fc.oneof(fc.record({ x: value, y: value }, { requiredKeys: [] }), fc.array(fc.record({ x: scalar }), { maxLength: 2 }), scalar),
    items: fc.array(fc.record({ k: scalar }, { requiredKeys: [] }), { maxLength: 3 }),
    _acl: fc.record({ creator: fc.constantFrom('u1', 'u2'), gr: fc.boolean(), gw: fc.oneof(fc.boolean(), scalar) }, { requiredKeys: ['creator'] }),
  },
  { requiredKeys: [] },
);
const field = fc.constantFrom(...FIELDS.filter((f) => !f.startsWith('_acl')));
/** A user's read filter, as acl.ts builds it. */
const acl = fc.constantFrom('u1', 'u2').map((u) => ({ $or: [{ '_acl.creator': u }, { '_acl.gr': true }, { '_acl.gw': true }] }));
const condition: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  fc.record({ $eq: scalar }),
  fc.record({ $in: fc.array(scalar, { maxLength: 3 }) }),
  fc.record({ $gt: scalar }),
  fc.record({ $gte: scalar, $lt: scalar }),
  fc.record({ $lte: scalar }),
  fc.record({ $ne: scalar }),
  fc.record({ $exists: fc.boolean() }),
);
const simple = fc.dictionary(field, condition, { minKeys: 1, maxKeys: 2 }) as fc.Arbitrary<Filter>;
const filter: fc.Arbitrary<Filter> = fc.oneof(
  { weight: 3, arbitrary: simple },
  fc.constant({}),
  fc.array(simple, { minLength: 1, maxLength: 3 }).map((branches) => ({ $or: branches })),
  fc.tuple(fc.array(simple, { minLength: 1, maxLength: 3 }), simple).map(([branches, rest]) => ({ $and: [{ $or: branches }, rest] })),
  fc.array(simple, { minLength: 2, maxLength: 3 }).map((clauses) => ({ $and: clauses })),
  { weight: 3, arbitrary: fc.tuple(acl, simple).map(([readable, rest]) => ({ $and: [readable, rest] })) },
  fc.tuple(fc.array(fc.string({ maxLength: 2 }), { maxLength: 4 }), simple).map(([ids, rest]) => ({ $and: [rest, { _id: { $in: ids } }] })),
);
const sort = fc.array(fc.tuple(fc.constantFrom(...FIELDS, '_id'), fc.constantFrom(1 as const, -1 as const)), { maxLength: 2 }) as fc.Arbitrary<SortSpec>;
const options: fc.Arbitrary<FindOptions> = fc.record({ sort, skip: fc.integer({ min: 0, max: 4 }), limit: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: [] });

/** A deep copy in this realm (structuredClone makes Dates of another realm, which `instanceof` misses). */
function clone<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
  return value;
}

/** Every indexed store answers each query (find and count) exactly as the plain one. */
async function expectSameAnswers(scope: CollectionScope, queries: readonly (readonly [Filter, FindOptions])[]): Promise<void> {
  for (const [f, o] of queries) {
    const expected = await plain.find(scope, f, o);
    const count = await plain.count(scope, f);
    for (const store of indexed) {
      expect(await store.find(scope, f, o)).toEqual(expected);
      expect(await store.count(scope, f)).toBe(count);
    }
  }
}

let run = 0;
test('indexed plans, index walks and scans give the answers of a plain scan', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(doc, { maxLength: 14 }), fc.array(fc.tuple(filter, options), { minLength: 1, maxLength: 6 }), async (docs, queries) => {
      const scope = { appKey: 'app', collection: `c${(run += 1)}` };
      const stored = docs.map((d, i): StoredDocument => ({ _id: `d${String(i).padStart(2, '0')}`, ...d }));
      for (const store of indexed) for (const f of FIELDS) await store.ensureIndex(scope, { field: f });
      for (const store of [plain, ...indexed]) for (const d of stored) await store.insert(scope, clone(d));
      await expectSameAnswers(scope, queries);
      // Rewrites keep the index rows in step: the same queries after every document changed.
      for (const store of [plain, ...indexed]) for (const d of stored) await store.replace(scope, { ...clone(d), a: d.b ?? null, b: d.a ?? 'moved' });
      await expectSameAnswers(scope, queries);
      // setFields and deletes too.
      for (const store of [plain, ...indexed]) {
        for (const [i, d] of stored.entries()) {
          if (i % 3 === 0) await store.setFields(scope, d._id, { a: clone(d.tags ?? null), 'o.x': i, tags: clone(d.a ?? []) });
          if (i % 4 === 1) await store.deleteById(scope, d._id);
        }
      }
      await expectSameAnswers(scope, queries);
    }),
    { numRuns: Number(process.env.KINBASE_PROPERTY_RUNS ?? 150) },
  );
}, 120_000);
