/**
 * `_group` as tables of request -> expected response, with the exact bodies the official SDKs send
 * (reduce sources copied from each SDK's Aggregation code), on both document stores. One app per
 * store, seeded once: the scenarios only read.
 */
import request from 'supertest';
import type { DocumentStore, GroupStats } from '../../src/domain/ports';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

// kinvey-js-sdk 7.0.0 lib/aggregation.js (kinvey-node-sdk 3.12.5 sends the same sources).
const js7 = {
  count: (field: string) => ({
    key: { [field]: true },
    initial: { count: 0 },
    reduce: 'function(doc, out) {  out.count += 1;  return out;}',
    reduceFn: 'function(doc, out) {  out.count += 1;  return out;}',
    condition: {},
    query: null,
  }),
  sum: (field: string) => ({
    key: {},
    initial: { sum: 0 },
    reduce: `function(doc, out) {  out.sum += doc["${field}"];  return out;}`,
    condition: {},
  }),
  min: (field: string) => ({
    key: {},
    initial: { min: Number.MAX_SAFE_INTEGER },
    reduce: `function(doc, out) {  out.min = Math.min(out.min, doc["${field}"]);  return out;}`,
    condition: {},
  }),
  max: (field: string) => ({
    key: {},
    initial: { max: -1 * Number.MAX_SAFE_INTEGER },
    reduce: `function(doc, out) {  out.max = Math.max(out.max, doc["${field}"]);  return out;}`,
    condition: {},
  }),
  average: (field: string) => ({
    key: {},
    initial: { count: 0, average: 0 },
    reduce: `function(doc, out) {  out.average = (out.average * out.count + doc["${field}"]) / (out.count + 1);  out.count += 1;  return out;}`,
    condition: {},
  }),
};
// kinvey-node-sdk 3.12.5: initial Infinity / -Infinity, which JSON sends as null.
const node3Min = {
  key: {},
  initial: { min: null },
  reduce: 'function(doc, out) {  out.min = Math.min(out.min, doc["amount"]);  return out;}',
};
// The 1.x JS library (Kinvey.Group.average): {count, result}.
const js1Average = {
  key: {},
  initial: { count: 0, result: 0 },
  reduce:
    'function(doc, out) {  out.result = (out.result * out.count + doc["amount"]) / (out.count + 1);  out.count += 1;}',
};
const js1Min = {
  key: {},
  initial: { result: 'Infinity' },
  reduce: 'function(doc, out) { out.result = Math.min(out.result, doc["amount"]); }',
};
// Kinvey.Shared BuildGetAggregateRequest (.NET).
const dotnetAverage = {
  key: { region: true },
  initial: { result: 0, count: 0 },
  reduce: 'function(doc,out){ out.result = (((out.result * out.count) + doc.amount) / (out.count += 1)); }',
};
const dotnetMax = {
  key: {},
  initial: { result: -2147483648 },
  reduce: 'function(doc,out){ out.result = Math.max(out.result, doc.amount); }',
};
// Swift AggregateOperation.swift.
const swiftAvg = {
  key: { region: true },
  initial: { sum: 0.0, count: 0 },
  reduce: 'function(doc, out) { out.count++; out.sum += doc.amount; out.avg = out.sum / out.count; }',
};
const swiftCount = { key: { region: true }, initial: { count: 0 }, reduce: 'function(doc, out) { out.count++; }' };
// Android AggregateEntity.kt.
const androidCount = { key: { region: true }, initial: { _result: 0 }, reduce: 'function(doc,out){ out._result++;}' };
const androidSum = {
  key: { region: true },
  initial: { _result: 0 },
  reduce: 'function(doc,out){ out._result= out._result + doc.amount;}',
};
const androidAverage = {
  key: {},
  initial: { _result: 0 },
  reduce:
    'function(doc,out){ var count = (out._kcs_count == undefined) ? 0 : out._kcs_count; out._result =(out._result * count + doc.amount) / (count + 1); out._kcs_count = count+1;}',
};

const SALES = [
  { _id: 'a', region: 'eu', country: 'de', amount: 10, meta: { tier: 'gold' } },
  { _id: 'b', region: 'eu', country: 'fr', amount: 20, meta: { tier: 'gold' } },
  { _id: 'c', region: 'eu', country: 'de', amount: 30 },
  { _id: 'd', region: 'us', country: 'us', amount: 5 },
  { _id: 'e', region: 'us', country: 'us', amount: 'n/a' },
  { _id: 'f', country: 'br', amount: 7 },
];

const byKey = (rows: unknown): Record<string, unknown>[] =>
  [...(rows as Record<string, unknown>[])].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
/** The response groups, compared without order (the SDKs do not promise one either). */
const groups = (expected: Record<string, unknown>[]) => (b: unknown) => expect(byKey(b)).toEqual(byKey(expected));
const group = (
  path: string,
  payload: unknown,
  expected: Record<string, unknown>[],
  as = 'alice',
): Omit<Scenario, 'name'> => ({
  as,
  method: 'post',
  path,
  body: payload,
  expect: { status: 200, check: groups(expected) },
});
const sales = '/appdata/{app}/sales/_group';

const SCENARIOS: Scenario[] = [
  {
    name: 'JS SDK count(field) groups by the field',
    ...group(sales, js7.count('region'), [
      { region: 'eu', count: 3 },
      { region: 'us', count: 2 },
      { region: null, count: 1 },
    ]),
  },
  {
    name: 'JS SDK sum(field) adds the numbers (non-numbers are skipped)',
    ...group(sales, js7.sum('amount'), [{ sum: 72 }]),
  },
  {
    name: 'JS SDK sum(field).by(region) sums per group',
    ...group(sales, { ...js7.sum('amount'), key: { region: true } }, [
      { region: 'eu', sum: 60 },
      { region: 'us', sum: 5 },
      { region: null, sum: 7 },
    ]),
  },
  { name: 'JS SDK min(field)', ...group(sales, js7.min('amount'), [{ min: 5 }]) },
  { name: 'JS SDK max(field)', ...group(sales, js7.max('amount'), [{ max: 30 }]) },
  {
    name: 'JS SDK average(field) answers {count, average}',
    ...group(sales, js7.average('amount'), [{ count: 5, average: 14.4 }]),
  },
  { name: 'node SDK 3 min with initial Infinity (sent as null)', ...group(sales, node3Min, [{ min: 5 }]) },
  { name: 'JS 1.x average answers {count, result}', ...group(sales, js1Average, [{ count: 5, result: 14.4 }]) },
  { name: 'JS 1.x min starts from the string "Infinity"', ...group(sales, js1Min, [{ result: 5 }]) },
  {
    name: '.NET average per region',
    ...group(sales, dotnetAverage, [
      { region: 'eu', result: 20, count: 3 },
      { region: 'us', result: 5, count: 1 },
      { region: null, result: 7, count: 1 },
    ]),
  },
  { name: '.NET max', ...group(sales, dotnetMax, [{ result: 30 }]) },
  {
    name: 'Swift avg keeps sum and count',
    ...group(sales, swiftAvg, [
      { region: 'eu', sum: 60, count: 3, avg: 20 },
      { region: 'us', sum: 5, count: 1, avg: 5 },
      { region: null, sum: 7, count: 1, avg: 7 },
    ]),
  },
  {
    name: 'Swift count',
    ...group(sales, swiftCount, [
      { region: 'eu', count: 3 },
      { region: 'us', count: 2 },
      { region: null, count: 1 },
    ]),
  },
  {
    name: 'Android count',
    ...group(sales, androidCount, [
      { region: 'eu', _result: 3 },
      { region: 'us', _result: 2 },
      { region: null, _result: 1 },
    ]),
  },
  {
    name: 'Android sum',
    ...group(sales, androidSum, [
      { region: 'eu', _result: 60 },
      { region: 'us', _result: 5 },
      { region: null, _result: 7 },
    ]),
  },
  { name: 'Android average', ...group(sales, androidAverage, [{ _result: 14.4, _kcs_count: 5 }]) },
  {
    name: 'a key of several fields groups by their combination',
    ...group(sales, { ...js7.count('region'), key: { region: true, country: true } }, [
      { region: 'eu', country: 'de', count: 2 },
      { region: 'eu', country: 'fr', count: 1 },
      { region: 'us', country: 'us', count: 2 },
      { region: null, country: 'br', count: 1 },
    ]),
  },
  {
    name: 'a dotted key groups by the nested value',
    ...group(sales, js7.count('meta.tier'), [
      { 'meta.tier': 'gold', count: 2 },
      { 'meta.tier': null, count: 4 },
    ]),
  },
  {
    name: 'the condition restricts the documents',
    ...group(sales, { ...js7.count('region'), condition: { amount: { $gte: 10 } } }, [{ region: 'eu', count: 3 }]),
  },
  {
    name: 'a condition nothing matches gives no groups',
    ...group(sales, { ...js7.count('region'), condition: { region: 'asia' } }, []),
  },
  {
    name: 'a collection never written gives no groups',
    ...group('/appdata/{app}/nothing/_group', js7.count('region'), []),
  },
  {
    name: 'the whitespace of a reducer does not matter',
    ...group(sales, { key: {}, initial: { sum: 0 }, reduce: 'function (doc,out){\n\tout.sum+=doc["amount"]\n}' }, [
      { sum: 72 },
    ]),
  },
  {
    name: 'other initial fields are kept as sent',
    ...group(sales, { ...js7.count('region'), initial: { count: 10, label: 'x' }, condition: { region: 'us' } }, [
      { region: 'us', count: 12, label: 'x' },
    ]),
  },

  // Private collection: the ACL clause comes first, another user's entities never count.
  {
    name: 'private: a user groups only their own entities',
    ...group('/appdata/{app}/secrets/_group', js7.count('kind'), [{ kind: 'x', count: 2 }]),
  },
  {
    name: "private: a sum never includes other users' values",
    ...group('/appdata/{app}/secrets/_group', js7.sum('v'), [{ sum: 3 }]),
  },
  {
    name: 'private: the other user sees only theirs',
    ...group('/appdata/{app}/secrets/_group', js7.count('kind'), [{ kind: 'x', count: 1 }], 'bob'),
  },
  {
    name: 'private: master sees everything',
    ...group('/appdata/{app}/secrets/_group', js7.count('kind'), [{ kind: 'x', count: 3 }], 'master'),
  },

  // Refusals.
  {
    name: 'a reducer the SDKs do not generate is 400 FeatureUnavailable',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: {}, initial: { count: 0 }, reduce: 'function(doc, out) { out.count += doc.amount * 2; }' },
    expect: { status: 400, error: 'FeatureUnavailable' },
  },
  {
    name: 'a reducer that loops is never run: 400 FeatureUnavailable',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: {}, initial: {}, reduce: 'function(doc, out) { while (true) {} }' },
    expect: { status: 400, error: 'FeatureUnavailable' },
  },
  {
    name: 'a reducer calling process is 400 FeatureUnavailable',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: {}, initial: { sum: 0 }, reduce: 'function(doc, out) { out.sum += process.exit(1); }' },
    expect: { status: 400, error: 'FeatureUnavailable' },
  },
  {
    name: 'no reducer is 400 BadRequest',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: { region: true }, initial: { count: 0 } },
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a key of __proto__ is 400',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { ...js7.count('region'), key: { 'a.__proto__': true } },
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a key of constructor is 400',
    as: 'alice',
    method: 'post',
    path: sales,
    body: js7.count('constructor'),
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a key naming an operator is 400',
    as: 'alice',
    method: 'post',
    path: sales,
    body: js7.count('$where'),
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a reducer reading doc["__proto__"] is 400',
    as: 'alice',
    method: 'post',
    path: sales,
    body: js7.sum('__proto__'),
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a reducer reading doc.prototype is 400',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: {}, initial: { sum: 0 }, reduce: 'function(doc, out) { out.sum += doc.prototype; }' },
    expect: { status: 400, error: 'BadRequest' },
  },
  {
    name: 'a reducer writing out.__proto__ is refused',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { key: {}, initial: {}, reduce: 'function(doc, out) { out.__proto__ += 1; }' },
    expect: { status: 400, error: 'FeatureUnavailable' },
  },
  {
    name: 'a code-running condition is 400 InvalidQuerySyntax',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { ...js7.count('region'), condition: { $where: 'sleep(1000)' } },
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: 'a condition with a __proto__ path is 400 InvalidQuerySyntax',
    as: 'alice',
    method: 'post',
    path: sales,
    body: { ...js7.count('region'), condition: { 'a.__proto__.b': 1 } },
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: 'without credentials: 401',
    as: 'none',
    method: 'post',
    path: sales,
    body: js7.count('region'),
    expect: { status: 401 },
  },
];

const USER_SCENARIOS: Scenario[] = [
  {
    name: 'users: count by city counts active users only',
    ...group('/user/{app}/_group', js7.count('city'), [
      { city: 'Berlin', count: 1 },
      { city: 'Paris', count: 1 },
    ]),
  },
  {
    name: 'users: master may group by a hidden field',
    ...group(
      '/user/{app}/_group',
      js7.count('_socialIdentity.facebook.id'),
      [
        { '_socialIdentity.facebook.id': 'fb-bob', count: 1 },
        { '_socialIdentity.facebook.id': null, count: 1 },
      ],
      'master',
    ),
  },
  {
    name: 'users: grouping by _socialIdentity is 400 for a user',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_group',
    body: js7.count('_socialIdentity.facebook.id'),
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: 'users: aggregating _socialIdentity is 400 for a user',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_group',
    body: js7.sum('_socialIdentity.facebook.n'),
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: 'users: a condition on _socialIdentity is 400 for a user',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_group',
    body: { ...js7.count('city'), condition: { '_socialIdentity.facebook.id': 'fb-bob' } },
    expect: { status: 400, error: 'InvalidQuerySyntax' },
  },
  {
    name: 'users: a foreign reducer is 400 FeatureUnavailable',
    as: 'alice',
    method: 'post',
    path: '/user/{app}/_group',
    body: { key: {}, initial: {}, reduce: 'function(doc, out) { out.x = doc.password; }' },
    expect: { status: 400, error: 'FeatureUnavailable' },
  },
];

describe.each(DOCUMENT_STORES)('_group on the %s document store', (documents) => {
  let ctx: ScenarioContext;
  let groupCalls: number;

  beforeAll(async () => {
    const t = await startTestApp({
      documents,
      collections: { sales: { permissions: 'full' }, secrets: { permissions: 'private' } },
      wrapDocuments: (store) =>
        countingGroups(store, () => {
          groupCalls += 1;
        }),
    });
    const alice = await createUser(t, 'alice', { city: 'Berlin' });
    const bob = await createUser(t, 'bob', { city: 'Paris', _socialIdentity: { facebook: { id: 'fb-bob' } } });
    const gone = await createUser(t, 'gone', { city: 'Paris' });
    ctx = {
      t,
      auth: { master: t.masterAuth, alice: alice.auth, bob: bob.auth },
      userIds: { alice: alice.id, bob: bob.id },
      vars: {},
    };
    for (const doc of SALES) await post(t, '/appdata/{app}/sales', t.masterAuth, doc);
    await post(t, '/appdata/{app}/secrets', alice.auth, { kind: 'x', v: 1 });
    await post(t, '/appdata/{app}/secrets', alice.auth, { kind: 'x', v: 2 });
    await post(t, '/appdata/{app}/secrets', bob.auth, { kind: 'x', v: 100 });
    const removed = await request(t.app).delete(`/user/${t.appKey}/${gone.id}`).set('Authorization', t.masterAuth);
    expect(removed.status).toBe(204);
  });
  afterAll(() => ctx?.t.close());

  test.each([...SCENARIOS, ...USER_SCENARIOS].map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    await runScenario(scenario, ctx);
  });

  test('initial with a __proto__ key is 400 and pollutes nothing', async () => {
    const raw = `{"key":{"region":true},"initial":{"__proto__":{"polluted":true},"count":0},"reduce":"function(doc, out) { out.count += 1; }"}`;
    const res = await request(ctx.t.app)
      .post(`/appdata/${ctx.t.appKey}/sales/_group`)
      .set('Authorization', ctx.auth.alice as string)
      .set('Content-Type', 'application/json')
      .send(raw);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'BadRequest' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('one aggregation is one store group call', async () => {
    groupCalls = 0;
    await runScenario({ name: '', ...group(sales, js7.average('amount'), [{ count: 5, average: 14.4 }]) }, ctx);
    expect(groupCalls).toBe(1);
  });
});

describe('the group cap', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The store reports more groups than allowed, as an adapter does when it stops at maxGroups + 1.
    t = await startTestApp({ wrapDocuments: (store) => withGroups(store, 10_001) });
  });
  afterAll(() => t?.close());

  test('more than 10,000 groups is 400 ResultSetSizeExceeded', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/things/_group`)
      .set('Authorization', t.masterAuth)
      .send(js7.count('n'));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'ResultSetSizeExceeded' });
  });

  test('exactly 10,000 groups are answered', async () => {
    const other = await startTestApp({ wrapDocuments: (store) => withGroups(store, 10_000) });
    try {
      const res = await request(other.app)
        .post(`/appdata/${other.appKey}/things/_group`)
        .set('Authorization', other.masterAuth)
        .send(js7.count('n'));
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(10_000);
      expect(res.body[9_999]).toEqual({ n: 9_999, count: 1 });
    } finally {
      await other.close();
    }
  });
});

async function post(t: TestApp, path: string, auth: string, body: object): Promise<void> {
  const res = await request(t.app).post(path.replace('{app}', t.appKey)).set('Authorization', auth).send(body);
  if (res.status !== 201) throw new Error(`seeding ${path} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

function countingGroups(store: DocumentStore, onGroup: () => void): DocumentStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'group')
        return (...args: Parameters<DocumentStore['group']>) => {
          onGroup();
          return target.group(...args);
        };
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function withGroups(store: DocumentStore, n: number): DocumentStore {
  const stats: GroupStats[] = Array.from({ length: n }, (_, i) => ({
    key: [i],
    count: 1,
    numeric: 0,
    sum: 0,
    min: null,
    max: null,
  }));
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'group') return async () => stats;
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
