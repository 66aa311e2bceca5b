/**
 * The DocumentStore contract: one suite every adapter must pass with identical results. Each test
 * works in its own fresh app key, so nothing depends on test order or leftovers.
 */
import { randomBytes } from 'node:crypto';
import {
  StoreError,
  type CollectionScope,
  type DocumentStore,
  type GroupSpec,
  type GroupStats,
  type StoredDocument,
} from '../../src/domain/ports';
import {
  FILTER_SCENARIOS,
  FIXTURE,
  ID24,
  PROJECTION_SCENARIOS,
  SORT_SCENARIOS,
  type ServerGap,
} from './document-store.scenarios';
import { GROUP_FIXTURE, GROUP_SCENARIOS } from './document-store.group-scenarios';
import { DEFAULT_MAX_RESULT_BYTES } from '../../src/stores/documents/result-budget';

/** Options the contract sets per store; adapters take them under these names. */
interface ContractStoreOptions {
  maxResultBytes?: number;
}

type MakeStore = (
  options?: ContractStoreOptions,
) => Promise<{ store: DocumentStore; cleanup: () => Promise<void>; gaps?: readonly ServerGap[] }>;

const freshScope = (collection = 'things'): CollectionScope => ({
  appKey: `t_${randomBytes(6).toString('hex')}`,
  collection,
});
const ids = (docs: StoredDocument[]): string[] => docs.map((d) => d._id);
const sortedIds = (docs: StoredDocument[]): string[] => ids(docs).sort();

async function expectStoreError(promise: Promise<unknown>, kind: StoreError['kind']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(StoreError);
  await expect(promise).rejects.toMatchObject({ kind });
}

/**
 * Defines the shared suite for one adapter; `makeStore` is called once for the suite (and once
 * more with a small result budget), `cleanup` after all tests.
 */
export function documentStoreContract(name: string, makeStore: MakeStore): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let store: DocumentStore;
    let cleanup: () => Promise<void>;
    let gaps: readonly ServerGap[] = [];
    beforeAll(async () => {
      ({ store, cleanup, gaps = [] } = await makeStore());
    });
    const hasGap = (gap?: ServerGap): boolean => gap !== undefined && gaps.includes(gap);
    afterAll(async () => {
      await cleanup?.();
    });

    describe('queries over the fixture collection', () => {
      let scope: CollectionScope;
      beforeAll(async () => {
        scope = freshScope('fixture');
        for (const doc of FIXTURE) await store.insert(scope, doc);
      });

      test.each(FILTER_SCENARIOS)('find: $name', async ({ filter, options, expected, gap }) => {
        if (hasGap(gap)) await expect(store.find(scope, filter, options)).rejects.toThrow();
        else expect(ids(await store.find(scope, filter, options))).toEqual(expected);
      });

      test.each(FILTER_SCENARIOS)('count: $name', async ({ filter, expected, gap }) => {
        if (hasGap(gap)) await expect(store.count(scope, filter)).rejects.toThrow();
        else expect(await store.count(scope, filter)).toBe(expected.length);
      });

      test.each(SORT_SCENARIOS)('sort and page: $name', async ({ filter, options, expected }) => {
        expect(ids(await store.find(scope, filter, options))).toEqual(expected);
      });

      test.each(PROJECTION_SCENARIOS)('projection: $name', async ({ id, fields, expected }) => {
        expect(await store.find(scope, { _id: id }, { fields })).toEqual([expected]);
      });

      test('documents come back exactly as stored', async () => {
        expect(await store.find(scope, {})).toEqual(FIXTURE);
      });

      test('findByIds returns the existing ones that match the filter', async () => {
        expect(sortedIds(await store.findByIds(scope, ['a1', 'a2', 'nope', ID24]))).toEqual([ID24, 'a1', 'a2']);
        expect(sortedIds(await store.findByIds(scope, ['a1', 'a2', 'a3'], { tags: 'red' }))).toEqual(['a1', 'a3']);
        expect(await store.findByIds(scope, [])).toEqual([]);
      });
    });

    test('paging through ties with skip/limit never repeats or drops an entity', async () => {
      const scope = freshScope();
      const all = Array.from({ length: 23 }, (_, i) => ({
        _id: `p${String((i * 7) % 23).padStart(2, '0')}`,
        group: i % 3,
      }));
      for (const doc of all) await store.insert(scope, doc);
      for (const sort of [[['group', 1]], [['group', -1]], []] as const) {
        const seen: string[] = [];
        for (let skip = 0; skip < all.length; skip += 4)
          seen.push(...ids(await store.find(scope, {}, { sort, skip, limit: 4 })));
        expect(seen).toEqual(ids(await store.find(scope, {}, { sort })));
        expect(new Set(seen).size).toBe(all.length);
      }
    });

    test('insert stores a document and refuses a taken _id', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'x', v: 1 });
      await expectStoreError(store.insert(scope, { _id: 'x', v: 2 }), 'duplicate');
      expect(await store.find(scope, {})).toEqual([{ _id: 'x', v: 1 }]);
    });

    test('ids that look like ObjectIds stay strings', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: ID24, v: 1 });
      await store.insert(scope, { _id: '0123456789ab', v: 2 });
      const found = await store.find(scope, {});
      expect(found.map((d) => typeof d._id)).toEqual(['string', 'string']);
      expect(await store.findByIds(scope, [ID24])).toEqual([{ _id: ID24, v: 1 }]);
      expect(await store.deleteById(scope, '0123456789ab')).toBe(true);
    });

    test('upsert reports whether it created the document and replaces it whole', async () => {
      const scope = freshScope();
      expect(await store.upsert(scope, { _id: 'u', a: 1, b: 2 })).toEqual({ created: true });
      expect(await store.upsert(scope, { _id: 'u', a: 3 })).toEqual({ created: false });
      expect(await store.find(scope, {})).toEqual([{ _id: 'u', a: 3 }]);
    });

    test('putMany writes a batch exactly as given, and running it again changes nothing', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'b', old: true });
      const when = new Date('2024-05-06T07:08:09.123Z');
      const batch = [
        { _id: 'a', _acl: { creator: 'u1', gr: true }, _kmd: { lmt: '2024-01-01T00:00:00.000Z', ect: 'x' }, when },
        { _id: 'b', n: [1, { deep: 'x' }] },
      ];
      await store.putMany(scope, batch);
      await store.putMany(scope, batch);
      expect(await store.find(scope, {})).toEqual(batch);
      await store.putMany(scope, []);
      expect(await store.count(scope, {})).toBe(2);
    });

    test('scan pages through every document in _id order, exactly as stored', async () => {
      const scope = freshScope();
      const docs = ['b', 'a', 'c', 'A', 'e'].map((id, n) => ({
        _id: id,
        n,
        at: new Date(n * 1000),
        _acl: { creator: id },
      }));
      for (const doc of docs) await store.insert(scope, doc);
      const seen: unknown[] = [];
      for (let after: string | null = null; ;) {
        const page = await store.scan(scope, after, 2);
        if (page.length === 0) break;
        seen.push(...page);
        after = page[page.length - 1]?._id ?? null;
      }
      expect(seen).toEqual([...docs].sort((x, y) => (x._id < y._id ? -1 : 1)));
      expect(await store.scan(freshScope(), null, 10)).toEqual([]);
    });

    test('putMany refuses a batch that breaks a unique index', async () => {
      const scope = freshScope();
      await store.ensureIndex(scope, { field: 'username', unique: true, sparse: true });
      await store.insert(scope, { _id: 'u1', username: 'ann' });
      await expectStoreError(store.putMany(scope, [{ _id: 'u2', username: 'ann' }]), 'duplicate');
    });

    test('replace changes an existing document only while it matches the filter', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'r', owner: 'ann', v: 1 });
      expect(await store.replace(scope, { _id: 'r', owner: 'ann', v: 2 })).toBe(true);
      expect(await store.replace(scope, { _id: 'r', owner: 'ann', v: 3 }, { owner: 'ann' })).toBe(true);
      expect(await store.replace(scope, { _id: 'r', owner: 'bob', v: 4 }, { owner: 'bob' })).toBe(false);
      expect(await store.replace(scope, { _id: 'missing', v: 1 })).toBe(false);
      expect(await store.find(scope, {})).toEqual([{ _id: 'r', owner: 'ann', v: 3 }]);
    });

    test('setFields sets dotted fields on the one document and respects the filter', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 's', profile: { name: 'a', age: 1 }, keep: true });
      await store.insert(scope, { _id: 't', profile: { name: 'b' } });
      expect(await store.setFields(scope, 's', { 'profile.name': 'z', 'meta.deep.flag': 1, top: [1] })).toBe(true);
      expect(await store.setFields(scope, 's', { top: 2 }, { keep: false })).toBe(false);
      expect(await store.setFields(scope, 'missing', { top: 2 })).toBe(false);
      expect(await store.find(scope, {})).toEqual([
        { _id: 's', profile: { name: 'z', age: 1 }, keep: true, meta: { deep: { flag: 1 } }, top: [1] },
        { _id: 't', profile: { name: 'b' } },
      ]);
    });

    test('deleteById deletes one document only if it matches the filter', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'd1', owner: 'ann' });
      await store.insert(scope, { _id: 'd2', owner: 'ann' });
      expect(await store.deleteById(scope, 'd1', { owner: 'bob' })).toBe(false);
      expect(await store.deleteById(scope, 'd1', { owner: 'ann' })).toBe(true);
      expect(await store.deleteById(scope, 'd1')).toBe(false);
      expect(ids(await store.find(scope, {}))).toEqual(['d2']);
    });

    test('deleteMany deletes every match and counts them', async () => {
      const scope = freshScope();
      for (const [i, color] of ['red', 'blue', 'red', 'green'].entries())
        await store.insert(scope, { _id: `m${i}`, color });
      expect(await store.deleteMany(scope, { color: { $in: ['red', 'green'] } })).toBe(3);
      expect(ids(await store.find(scope, {}))).toEqual(['m1']);
      expect(await store.deleteMany(scope, {})).toBe(1);
      expect(await store.count(scope, {})).toBe(0);
    });

    test('reads by _id after a delete count, list and page only the entities that exist', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'a1', n: 1 });
      await store.insert(scope, { _id: 'a2', n: 2 });
      expect(await store.deleteById(scope, 'a1')).toBe(true);
      const byIds = [
        { _id: 'a1' },
        { _id: { $eq: 'a1' } },
        { _id: 'never-existed' },
        { _id: { $in: ['a1', 'never-existed'] } },
      ];
      for (const filter of byIds) {
        expect(await store.count(scope, filter)).toBe(0);
        expect(await store.find(scope, filter)).toEqual([]);
        expect(await store.group(scope, filter, { keys: [], statistics: 'count', maxGroups: 10 })).toEqual([]);
        expect(await store.deleteMany(scope, filter)).toBe(0);
      }
      const both = { _id: { $in: ['a1', 'a2'] } };
      expect(await store.count(scope, both)).toBe(1);
      expect(await store.count(scope, { $or: [{ _id: 'a1' }, { _id: 'a2' }] })).toBe(1);
      expect(await store.count(scope, { $and: [{ _id: 'a1' }] })).toBe(0);
      // The page starts after `skip` existing matches, not after `skip` ids asked for.
      expect(ids(await store.find(scope, both, { skip: 1 }))).toEqual([]);
      expect(ids(await store.find(scope, both, { limit: 1 }))).toEqual(['a2']);
      expect(ids(await store.find(scope, both, { sort: [['n', -1]], limit: 1 }))).toEqual(['a2']);
    });

    test('a nested $and or an $and inside $or is matched whole', async () => {
      const scope = freshScope();
      await store.insert(scope, { _id: 'x1', n: 1, s: 'a', tags: ['t'] });
      await store.insert(scope, { _id: 'x2', n: 1, s: 'b', tags: ['u'] });
      await store.insert(scope, { _id: 'x3', n: 2, s: 'b', tags: ['t'] });
      const nested = { $and: [{ $and: [{ n: 1 }, { s: 'b' }] }, { tags: 'u' }] };
      const either = { $or: [{ $and: [{ n: 1 }, { s: 'b' }] }, { n: 3 }] };
      for (const filter of [nested, either]) {
        expect(ids(await store.find(scope, filter))).toEqual(['x2']);
        expect(await store.count(scope, filter)).toBe(1);
      }
      expect(ids(await store.find(scope, { $and: [{ $and: [{ n: 1 }, { s: 'b' }] }, { tags: 't' }] }))).toEqual([]);
    });

    test('a unique index refuses duplicates on every write path', async () => {
      const scope = freshScope();
      await store.ensureIndex(scope, { field: 'email', unique: true });
      await store.ensureIndex(scope, { field: 'email', unique: true });
      await store.insert(scope, { _id: 'e1', email: 'a@x' });
      await store.insert(scope, { _id: 'e2', email: 'b@x' });
      await expectStoreError(store.insert(scope, { _id: 'e3', email: 'a@x' }), 'duplicate');
      await expectStoreError(store.upsert(scope, { _id: 'e2', email: 'a@x' }), 'duplicate');
      await expectStoreError(store.replace(scope, { _id: 'e2', email: 'a@x' }), 'duplicate');
      await expectStoreError(store.setFields(scope, 'e2', { email: 'a@x' }), 'duplicate');
      expect(await store.find(scope, {})).toEqual([
        { _id: 'e1', email: 'a@x' },
        { _id: 'e2', email: 'b@x' },
      ]);
    });

    test('a unique sparse index allows many documents without the field', async () => {
      const scope = freshScope();
      await store.ensureIndex(scope, { field: 'login.name', unique: true, sparse: true });
      await store.insert(scope, { _id: 'n1' });
      await store.insert(scope, { _id: 'n2', login: {} });
      await store.insert(scope, { _id: 'n3', login: { name: 'ann' } });
      await expectStoreError(store.insert(scope, { _id: 'n4', login: { name: 'ann' } }), 'duplicate');
      expect(await store.count(scope, {})).toBe(3);
    });

    test('a unique index that is not sparse allows only one document without the field', async () => {
      const scope = freshScope();
      await store.ensureIndex(scope, { field: 'code', unique: true });
      await store.insert(scope, { _id: 'c1' });
      if (hasGap('unique-index-ignores-missing')) await store.insert(scope, { _id: 'c2' });
      else await expectStoreError(store.insert(scope, { _id: 'c2' }), 'duplicate');
      await store.insert(scope, { _id: 'c3', code: 1 });
      await expectStoreError(store.insert(scope, { _id: 'c4', code: 1 }), 'duplicate');
    });

    test('apps and collections are isolated from each other', async () => {
      const a = freshScope('shared');
      const b = { ...freshScope('shared') };
      const other = { ...a, collection: 'other' };
      await store.insert(a, { _id: 'same', app: 'a' });
      await store.insert(b, { _id: 'same', app: 'b' });
      await store.insert(other, { _id: 'same', app: 'a-other' });
      expect(await store.find(a, {})).toEqual([{ _id: 'same', app: 'a' }]);
      expect(await store.find(b, {})).toEqual([{ _id: 'same', app: 'b' }]);
      expect(await store.deleteMany(other, {})).toBe(1);
      expect(await store.count(a, {})).toBe(1);
    });

    test("listCollections names the app's collections that hold documents, never another app's", async () => {
      const scope = freshScope('zebras');
      const { appKey } = scope;
      expect(await store.listCollections(appKey)).toEqual([]);
      await store.insert(scope, { _id: 'z' });
      await store.insert({ appKey, collection: '_internal' }, { _id: 'i' });
      await store.insert({ appKey, collection: 'apples' }, { _id: 'a' });
      await store.insert(freshScope('elsewhere'), { _id: 'e' });
      expect(await store.listCollections(appKey)).toEqual(['_internal', 'apples', 'zebras']);
      // An emptied collection may stay listed (MongoDB keeps it; the embedded store drops it).
      await store.deleteMany({ appKey, collection: 'apples' }, {});
      expect(['_internal', 'apples', 'zebras']).toEqual(expect.arrayContaining(await store.listCollections(appKey)));
      expect(await store.listCollections(appKey)).toEqual(expect.arrayContaining(['_internal', 'zebras']));
    });

    describe('group', () => {
      let scope: CollectionScope;
      beforeAll(async () => {
        scope = freshScope('groups');
        for (const doc of GROUP_FIXTURE) await store.insert(scope, doc);
      });
      const canonical = (groups: Array<Partial<GroupStats>>, fields: readonly (keyof GroupStats)[]) =>
        groups.map((g) => JSON.stringify(fields.map((f) => g[f]))).sort();
      const asked: Record<GroupSpec['statistics'], (keyof GroupStats)[]> = {
        count: ['key', 'count'],
        sum: ['key', 'sum'],
        numeric: ['key', 'count', 'numeric', 'sum', 'min', 'max'],
      };

      test.each(GROUP_SCENARIOS)('$name', async ({ filter, spec, expected }) => {
        const groups = await store.group(scope, filter, { ...spec, maxGroups: 100 });
        expect(canonical(groups, asked[spec.statistics])).toEqual(canonical(expected, asked[spec.statistics]));
      });

      test.each(['count', 'sum', 'numeric'] as const)('%s stops after maxGroups + 1 groups', async (statistics) => {
        const groups = await store.group(scope, {}, { keys: ['_id'], field: 'n', statistics, maxGroups: 3 });
        expect(groups).toHaveLength(4);
      });

      test('a never-written collection has no groups', async () => {
        expect(await store.group(freshScope('never'), {}, { keys: ['k'], statistics: 'count', maxGroups: 10 })).toEqual(
          [],
        );
      });

      // Seven groups by `_id`, whose keys are 6 characters of JSON each (`["g1"]`).
      const justUnderBudget = Math.floor(DEFAULT_MAX_RESULT_BYTES / 7) - 6;
      test.each(['count', 'sum', 'numeric'] as const)(
        '%s: groups whose rows with their keys pass the 32 MiB result budget are too-large',
        async (statistics) => {
          await expectStoreError(
            store.group(
              scope,
              {},
              { keys: ['_id'], field: 'n', statistics, maxGroups: 100, bytesPerGroup: justUnderBudget + 1 },
            ),
            'too-large',
          );
          expect(
            await store.group(
              scope,
              {},
              { keys: ['_id'], field: 'n', statistics, maxGroups: 100, bytesPerGroup: justUnderBudget },
            ),
          ).toHaveLength(7);
        },
      );

      test.each(['count', 'sum', 'numeric'] as const)(
        '%s: a group key over maxKeyBytes is too-large',
        async (statistics) => {
          // The largest key of the fixture is `[["a"]]`, 7 characters.
          await expectStoreError(
            store.group(scope, {}, { keys: ['k'], field: 'n', statistics, maxGroups: 100, maxKeyBytes: 6 }),
            'too-large',
          );
          expect(
            await store.group(scope, {}, { keys: ['k'], field: 'n', statistics, maxGroups: 100, maxKeyBytes: 7 }),
          ).toHaveLength(4);
        },
      );
    });

    describe('the result budget of lists', () => {
      // Each document is about 10,000 bytes (of JSON or of BSON): five fit in 64 KiB, ten do not.
      const BUDGET = 64 * 1024;
      const big = (i: number): StoredDocument => ({ _id: `d${i}`, n: i, blob: 'x'.repeat(10_000) });
      let small: DocumentStore;
      let cleanupSmall: (() => Promise<void>) | undefined;
      let scope: CollectionScope;
      beforeAll(async () => {
        ({ store: small, cleanup: cleanupSmall } = await makeStore({ maxResultBytes: BUDGET }));
        scope = freshScope('large');
        for (let i = 0; i < 10; i++) await small.insert(scope, big(i));
      });
      afterAll(async () => {
        await cleanupSmall?.();
      });

      test('a find whose documents pass maxResultBytes is too-large; a page under it is answered', async () => {
        await expectStoreError(small.find(scope, {}), 'too-large');
        await expectStoreError(small.find(scope, { n: { $gte: 0 } }, { sort: [['n', -1]] }), 'too-large');
        expect(ids(await small.find(scope, {}, { limit: 5 }))).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
        expect(ids(await small.find(scope, {}, { skip: 5, sort: [['n', 1]] }))).toEqual(['d5', 'd6', 'd7', 'd8', 'd9']);
      });

      test('a projection is charged for what the answer holds, not the whole documents', async () => {
        expect(await small.find(scope, {}, { fields: ['n'] })).toHaveLength(10);
      });

      test('findByIds over maxResultBytes is too-large; under it is answered', async () => {
        const all = Array.from({ length: 10 }, (_, i) => `d${i}`);
        await expectStoreError(small.findByIds(scope, all), 'too-large');
        await expectStoreError(small.findByIds(scope, all, { n: { $gte: 0 } }), 'too-large');
        expect(sortedIds(await small.findByIds(scope, all.slice(0, 5)))).toEqual(all.slice(0, 5));
      });
    });

    test('a never-written collection reads as empty', async () => {
      const scope = freshScope('never');
      expect(await store.find(scope, { x: 1 }, { sort: [['x', 1]], limit: 5 })).toEqual([]);
      expect(await store.findByIds(scope, ['a'])).toEqual([]);
      expect(await store.count(scope, {})).toBe(0);
      expect(await store.deleteById(scope, 'a')).toBe(false);
      expect(await store.deleteMany(scope, {})).toBe(0);
      expect(await store.replace(scope, { _id: 'a' })).toBe(false);
      expect(await store.setFields(scope, 'a', { x: 1 })).toBe(false);
    });
  });
}
