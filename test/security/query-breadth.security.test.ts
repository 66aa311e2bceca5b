/**
 * Filters of hostile breadth, on every route that takes one: thousands of `$regex` branches,
 * patterns whose counted repetitions make them slow to compile, `$in` lists of thousands of items,
 * tens of thousands of nodes. Each used to hold the event loop for seconds (everyone waited), even
 * on a collection that does not exist. Each must now be a 400 InvalidQuerySyntax naming the limit,
 * never a 5xx, with nothing done. And the embedded engine's index checks of a wide filter that is
 * accepted give the event loop a turn between batches of candidates.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { MAX_QUERY_LIST_ITEMS, MAX_QUERY_NODES, MAX_QUERY_REGEXES } from '../../src/domain/query/query-breadth';
import { MAX_REGEX_WEIGHT } from '../../src/internal/linear-regex';
import { RESIDUAL_BATCH } from '../../src/stores/documents/embedded/sqlite/reading';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

type Filter = Record<string, unknown>;

const regexBranches = (n: number): Filter => ({
  $or: Array.from({ length: n }, () => ({ name: { $regex: '\\pL{1000}' } })),
});
/** Three distinct patterns of weight 1,001 each: fine alone, too heavy together. */
const heavyPatterns: Filter = { $or: ['a', 'b', 'c'].map((tail) => ({ name: { $regex: `x{1000}${tail}` } })) };
/** One pattern of 1,000 characters that expands to 111,000 atoms (took 1.3 s to compile). */
const heavyPattern: Filter = { name: { $regex: 'x{1000}'.repeat(142).slice(0, 1000) } };
const wideIn = (n: number): Filter => ({ tag: { $in: Array.from({ length: n }, (_, i) => i) } });

interface Hostile {
  name: string;
  filter: Filter;
  /** Words of the limit the error's debug names. */
  names: RegExp;
  /** Fits in a URL under Node's 16 KiB header limit (GET routes). */
  inUrl: boolean;
}

const HOSTILE: Hostile[] = [
  {
    name: `${MAX_QUERY_REGEXES + 1} $regex branches (8,000 stalled everyone 3 s)`,
    filter: regexBranches(MAX_QUERY_REGEXES + 1),
    names: new RegExp(`more than ${MAX_QUERY_REGEXES} \\$regex`),
    inUrl: true,
  },
  {
    name: 'three x{1000} patterns (too heavy to compile together)',
    filter: heavyPatterns,
    names: new RegExp(`weigh \\d+ together .*most: ${MAX_REGEX_WEIGHT}`),
    inUrl: true,
  },
  {
    name: 'one 1,000-character pattern of x{1000} repeated',
    filter: heavyPattern,
    names: new RegExp(`weigh \\d+ together .*most: ${MAX_REGEX_WEIGHT}`),
    inUrl: true,
  },
  {
    name: `$in of ${MAX_QUERY_LIST_ITEMS + 1} items`,
    filter: wideIn(MAX_QUERY_LIST_ITEMS + 1),
    names: new RegExp(`more than ${MAX_QUERY_LIST_ITEMS} items`),
    inUrl: false,
  },
];

interface Route {
  name: string;
  method: 'get' | 'post' | 'delete';
  path: string;
  as: 'user' | 'master';
  /** Where the filter goes: the `query` parameter, or the body (whole, or as `condition`). */
  send: (filter: Filter) => { query?: Record<string, string>; body?: unknown };
}

const asQuery = (filter: Filter) => ({ query: { query: JSON.stringify(filter) } });
const asCondition = (filter: Filter) => ({
  body: {
    key: { name: true },
    initial: { count: 0 },
    reduce: 'function(doc, out) { out.count++; }',
    condition: filter,
  },
});

const ROUTES: Route[] = [
  { name: 'list', method: 'get', path: '/appdata/{app}/things', as: 'user', send: asQuery },
  { name: '_count', method: 'get', path: '/appdata/{app}/things/_count', as: 'user', send: asQuery },
  { name: 'delete by query', method: 'delete', path: '/appdata/{app}/things', as: 'user', send: asQuery },
  { name: '_group condition', method: 'post', path: '/appdata/{app}/things/_group', as: 'user', send: asCondition },
  {
    name: '_group condition on a collection that does not exist',
    method: 'post',
    path: '/appdata/{app}/nothing-here/_group',
    as: 'user',
    send: asCondition,
  },
  {
    name: '_deltaset',
    method: 'get',
    path: '/appdata/{app}/changes/_deltaset',
    as: 'user',
    send: (filter) => ({ query: { since: new Date(0).toISOString(), query: JSON.stringify(filter) } }),
  },
  { name: 'users list', method: 'get', path: '/user/{app}', as: 'user', send: asQuery },
  { name: 'users _count', method: 'get', path: '/user/{app}/_count', as: 'user', send: asQuery },
  { name: 'users _group condition', method: 'post', path: '/user/{app}/_group', as: 'user', send: asCondition },
  {
    name: 'users _lookup',
    method: 'post',
    path: '/user/{app}/_lookup',
    as: 'user',
    send: (filter) => ({ body: filter }),
  },
  { name: 'files list', method: 'get', path: '/blob/{app}', as: 'user', send: asQuery },
  { name: 'list as master', method: 'get', path: '/appdata/{app}/things', as: 'master', send: asQuery },
];

const CASES = ROUTES.flatMap((route) =>
  HOSTILE.filter((h) => h.inUrl || route.method === 'post').map((hostile) => ({
    route,
    hostile,
    title: `${route.name} with ${hostile.name}`,
  })),
);

describe.each(DOCUMENT_STORES)('filters of hostile breadth on the %s store', (documents) => {
  let t: TestApp;
  let user: { id: string; auth: string };

  beforeAll(async () => {
    t = await startTestApp({
      documents,
      collections: { things: { permissions: 'shared' }, changes: { permissions: 'shared', deltaSet: true } },
    });
    user = await createUser(t, 'mallory');
    await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .set('Authorization', user.auth)
      .send({ _id: 'kept', name: 'kept', tag: 1 })
      .expect(201);
  });
  afterAll(async () => t.close());

  test.each(CASES)('$title: 400 InvalidQuerySyntax naming the limit, nothing done', async ({ route, hostile }) => {
    const { query, body } = route.send(hostile.filter);
    let req = request(t.app)
      [route.method](route.path.replace('{app}', t.appKey))
      .set('Authorization', route.as === 'master' ? t.masterAuth : user.auth);
    if (query) req = req.query(query);
    const res = body === undefined ? await req : await req.send(body as object);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'InvalidQuerySyntax',
      description: expect.any(String),
      debug: expect.stringMatching(hostile.names),
    });
    const kept = await request(t.app).get(`/appdata/${t.appKey}/things/kept`).set('Authorization', user.auth);
    expect(kept.status).toBe(200);
  });

  test('filters at the limits are still answered (64 $regex conditions, 5,000 $in items)', async () => {
    const regexes = {
      $or: Array.from({ length: MAX_QUERY_REGEXES }, (_, i) => ({ name: { $regex: `^kep?t${i % 2 ? '' : '$'}` } })),
    };
    const list = await request(t.app)
      .get(`/appdata/${t.appKey}/things`)
      .set('Authorization', user.auth)
      .query({ query: JSON.stringify(regexes) });
    expect(list.status).toBe(200);
    expect(list.body.map((e: { _id: string }) => e._id)).toEqual(['kept']);
    const group = await request(t.app)
      .post(`/appdata/${t.appKey}/things/_group`)
      .set('Authorization', user.auth)
      .send(asCondition(wideIn(MAX_QUERY_LIST_ITEMS)).body);
    expect(group.status).toBe(200);
    expect(group.body).toEqual([{ name: 'kept', count: 1 }]);
  });
});

// The filter of a collectionAccess call, built inside the isolate (no body limit applies there).
const BUILD_FILTER = `function hostileFilter(kind) {
  var i, list = [];
  if (kind === 'regexes') { for (i = 0; i < 8000; i++) list.push({ name: { $regex: '\\\\pL{1000}' } }); return { $or: list }; }
  if (kind === 'heavy') return { $or: [{ name: { $regex: 'x{1000}a' } }, { name: { $regex: 'x{1000}b' } }, { name: { $regex: 'x{1000}c' } }] };
  if (kind === 'items') { for (i = 0; i < ${MAX_QUERY_LIST_ITEMS + 1}; i++) list.push(i); return { tag: { $in: list } }; }
  for (i = 0; i < ${MAX_QUERY_NODES}; i++) list.push({ tag: i });
  return { $or: list };
}`;
const PROBE = `function onRequest(request, response, modules) {
  ${BUILD_FILTER}
  var things = modules.collectionAccess.collection('things');
  var filter = hostileFilter(request.body.kind);
  var done = function (err) { response.body = { error: err ? err.message : null }; response.complete(200); };
  if (request.body.method === 'update') things.update(filter, { $set: { touched: true } }, { multi: true }, done);
  else things[request.body.method](filter, done);
}`;

describe('Business Logic collectionAccess with filters of hostile breadth', () => {
  let t: TestApp;
  let dir: string;
  let user: { id: string; auth: string };

  beforeAll(async () => {
    dir = makeTempDir('kinbase-query-breadth-');
    writeFileSync(
      path.join(dir, 'env.json'),
      JSON.stringify({
        schemaVersion: '1.0.0',
        configType: 'environment',
        collections: { things: { type: 'internal', permissions: 'shared' } },
        customEndpoints: { probe: { type: 'internal', code: PROBE } },
      }),
    );
    t = await startTestApp({ environment: { file: path.join(dir, 'env.json') } });
    user = await createUser(t, 'mallory');
    await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .set('Authorization', user.auth)
      .send({ _id: 'kept', name: 'kept', tag: 1 })
      .expect(201);
  });
  afterAll(async () => {
    await t?.close();
    if (dir) removeTempDir(dir);
  });

  const kinds: [string, RegExp][] = [
    ['regexes', /more than 64 \$regex/],
    ['heavy', /weigh \d+ together/],
    ['items', /more than 5000 items/],
    ['nodes', /more than 10000 keys and array elements/],
  ];
  const methods = ['find', 'findOne', 'count', 'update', 'remove'];
  test.each(methods.flatMap((method) => kinds.map(([kind, names]) => ({ method, kind, names }))))(
    'collectionAccess.$method with a filter of hostile breadth ($kind) gets an error naming the limit, and nothing changes',
    async ({ method, kind, names }) => {
      const res = await request(t.app)
        .post(`/rpc/${t.appKey}/custom/probe`)
        .set('Authorization', user.auth)
        .send({ method, kind });
      expect(res.status).toBe(200);
      expect(res.body.error).toMatch(names);
      const kept = await request(t.app)
        .get(`/appdata/${t.appKey}/things/kept`)
        .set('Authorization', user.auth)
        .expect(200);
      expect(kept.body).not.toHaveProperty('touched');
    },
  );
});

describe('residual index checks of a wide filter (embedded store)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ collections: { pub: { permissions: 'shared' } } });
  });
  afterAll(async () => t.close());

  test("a $and of two 1,000-key $in clauses over 2,000 of the attacker's own entities is checked in batches, the event loop free between them", async () => {
    const user = await createUser(t, 'mallory');
    const entities = 2000;
    for (let i = 0; i < entities; i += 100) {
      await request(t.app)
        .post(`/appdata/${t.appKey}/pub`)
        .set('Authorization', user.auth)
        .send(Array.from({ length: 100 }, (_, j) => ({ _id: `e${i + j}` })))
        .expect(201);
    }
    const scope = { appKey: t.appKey, collection: 'pub' };
    // The first clause is planned from its index; the others become per-candidate index checks.
    for (const field of ['_kmd.lmt', '_acl.gr']) await t.documents.ensureIndex(scope, { field });
    const wide = { '_acl.gr': { $in: [...Array.from({ length: 999 }, (_, i) => i), true] } };
    const filter = { $and: [{ '_kmd.lmt': { $gt: '' } }, wide, wide] };

    let turns = 0;
    let running = true;
    const turn = (): void => {
      if (!running) return;
      turns += 1;
      setImmediate(turn);
    };
    setImmediate(turn);
    const found = await t.documents.find(scope, filter);
    running = false;
    // No candidate matches, so no document is read: every turn came from the residual checks.
    expect(found).toEqual([]);
    expect(turns).toBeGreaterThanOrEqual(Math.floor(entities / RESIDUAL_BATCH));
  });

  test('a candidate holding more keys than are read at once (a long _acl.r) still passes a wide check on its last key', async () => {
    const scope = { appKey: t.appKey, collection: 'long' };
    const readers = [...Array.from({ length: 1500 }, (_, i) => `u${String(i).padStart(4, '0')}`), 'zz-last'];
    await t.documents.insert(scope, {
      _id: 'long',
      _acl: { creator: 'x', r: readers },
      _kmd: { lmt: '2024-01-01T00:00:00.000Z' },
    });
    await t.documents.insert(scope, {
      _id: 'short',
      _acl: { creator: 'x', r: ['u0001'] },
      _kmd: { lmt: '2024-01-01T00:00:00.000Z' },
    });
    for (const field of ['_kmd.lmt', '_acl.r']) await t.documents.ensureIndex(scope, { field });
    const wanted = ['zz-last', ...Array.from({ length: 20 }, (_, i) => `nobody${i}`)];
    const found = await t.documents.find(scope, { $and: [{ '_kmd.lmt': { $gt: '' } }, { '_acl.r': { $in: wanted } }] });
    expect(found.map((doc) => doc._id)).toEqual(['long']);
  });
});
