/**
 * `GET /appdata/:appKey/:collection/_deltaset?since=...` as request -> response scenarios on both
 * document stores: where it is off, the `since` values the SDKs answer with a full read, changed and
 * deleted entities (by id, by query, with the collection), ACLs on changes and on tombstones, query
 * restriction, and refused query fields.
 */
import request from 'supertest';
import { createUser, runScenario, type Scenario, type ScenarioContext } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp } from '../support/test-app';
import type { DocumentStore, Filter } from '../../src/domain/ports';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY = 86_400_000;
/** Lets the clock move on, so that entities written before a read never share its millisecond. */
const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 3));

interface DeltaBody {
  changed: { _id: string; [k: string]: unknown }[];
  deleted: { _id: string }[];
}
const changedIds = (body: unknown) => (body as DeltaBody).changed.map((d) => d._id).sort();
const deletedIds = (body: unknown) => (body as DeltaBody).deleted.map((d) => d._id).sort();

describe.each(DOCUMENT_STORES)('delta sets on the %s store', (documents) => {
  const ctx = {} as ScenarioContext;

  beforeAll(async () => {
    ctx.t = await startTestApp({
      documents,
      collections: {
        notes: { permissions: 'shared', deltaSet: true },
        diary: { permissions: 'private', deltaSet: true },
        plain: { permissions: 'shared' },
        off: { permissions: 'shared', deltaSet: false },
      },
    });
    ctx.auth = { master: ctx.t.masterAuth, app: ctx.t.appAuth };
    ctx.userIds = {};
    ctx.vars = {};
    for (const name of ['alice', 'bob']) {
      const user = await createUser(ctx.t, name);
      ctx.auth[name] = user.auth;
      ctx.userIds[name] = user.id;
    }
  });
  afterAll(async () => ctx.t.close());

  const api = () => request(ctx.t.app);
  const as = (name: string) => ctx.auth[name] as string;
  const post = (collection: string, who: string, body: object) =>
    api().post(`/appdata/${ctx.t.appKey}/${collection}`).set('Authorization', as(who)).send(body).expect(201);
  /** A full read's X-Kinvey-Request-Start: what an SDK sends as the next `since`. */
  const readStart = async (collection: string, who: string): Promise<string> => {
    const res = await api().get(`/appdata/${ctx.t.appKey}/${collection}`).set('Authorization', as(who)).expect(200);
    return res.headers['x-kinvey-request-start'] as string;
  };
  const delta = (collection: string, who: string, query: Record<string, string>) =>
    api().get(`/appdata/${ctx.t.appKey}/${collection}/_deltaset`).set('Authorization', as(who)).query(query);

  describe('errors the SDKs answer with a full read', () => {
    const sinceNow = () => new Date().toISOString();
    const cases: Scenario[] = [
      {
        name: 'a collection without deltaSet is 403 MissingConfiguration',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/plain/_deltaset',
        query: { since: sinceNow() },
        expect: { status: 403, error: 'MissingConfiguration' },
      },
      {
        name: 'deltaSet: false is 403 MissingConfiguration',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/off/_deltaset',
        query: { since: sinceNow() },
        expect: { status: 403, error: 'MissingConfiguration' },
      },
      {
        name: 'an unconfigured collection is 403 MissingConfiguration',
        as: 'master',
        method: 'get',
        path: '/appdata/{app}/nowhere/_deltaset',
        query: { since: sinceNow() },
        expect: { status: 403, error: 'MissingConfiguration' },
      },
      {
        name: 'a missing since is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since that is no timestamp is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: 'yesterday' },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since on a day that does not exist is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: '2024-02-30T10:00:00.000Z' },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since with a time zone offset is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: '2024-02-03T10:00:00.000+02:00' },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since in the future is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: new Date(Date.now() + 3_600_000).toISOString() },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since older than the 30-day tombstone window is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: new Date(Date.now() - 31 * DAY).toISOString() },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a since from before tracking began (before this server started) is 400 ParameterValueOutOfRange',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: new Date(Date.now() - DAY).toISOString() },
        expect: { status: 400, error: 'ParameterValueOutOfRange' },
      },
      {
        name: 'a query with $where is refused',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: sinceNow(), query: { $where: 'sleep(100)' } },
        expect: { status: 400, error: 'InvalidQuerySyntax' },
      },
      {
        name: 'a query through __proto__ is refused',
        as: 'alice',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: sinceNow(), query: { '__proto__.polluted': 1 } },
        expect: { status: 400, error: 'InvalidQuerySyntax' },
      },
      {
        name: 'app credentials are refused',
        as: 'app',
        method: 'get',
        path: '/appdata/{app}/notes/_deltaset',
        query: { since: sinceNow() },
        expect: { status: 401, error: 'InsufficientCredentials' },
      },
      {
        name: 'the tombstones are no /appdata collection',
        as: 'master',
        method: 'get',
        path: '/appdata/{app}/_tombstone',
        expect: { status: 403, error: 'IndirectCollectionAccessDisallowed' },
      },
    ];
    test.each(cases.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
      await runScenario(scenario, ctx);
    });
  });

  test('changed holds created and updated entities, deleted the ids deleted by id, by query and with the collection', async () => {
    await post('notes', 'alice', { _id: 'n1', v: 1 });
    await post('notes', 'alice', { _id: 'n2', v: 1 });
    await post('notes', 'alice', { _id: 'n3', v: 1, kind: 'scrap' });
    await post('notes', 'alice', { _id: 'n4', v: 1, kind: 'scrap' });
    await post('notes', 'alice', { _id: 'n5', v: 1 });
    await nextMillisecond();
    const since = await readStart('notes', 'alice');
    expect(since).toMatch(ISO);
    await nextMillisecond();

    await api().put(`/appdata/${ctx.t.appKey}/notes/n1`).set('Authorization', as('alice')).send({ v: 2 }).expect(200);
    await post('notes', 'bob', { _id: 'n6', v: 1 });
    await api().delete(`/appdata/${ctx.t.appKey}/notes/n2`).set('Authorization', as('alice')).expect(200);
    await api()
      .delete(`/appdata/${ctx.t.appKey}/notes`)
      .query({ query: JSON.stringify({ kind: 'scrap' }) })
      .set('Authorization', as('alice'))
      .expect(200, { count: 2 });
    // Deleted, then created again: it exists, so it is changed and not deleted.
    await api().delete(`/appdata/${ctx.t.appKey}/notes/n5`).set('Authorization', as('alice')).expect(200);
    await post('notes', 'alice', { _id: 'n5', v: 'again' });

    const res = await delta('notes', 'bob', { since });
    expect(res.status).toBe(200);
    expect(res.headers['x-kinvey-request-start']).toMatch(ISO);
    expect(String(res.headers['x-kinvey-request-start']) >= since).toBe(true);
    expect(changedIds(res.body)).toEqual(['n1', 'n5', 'n6']);
    expect((res.body as DeltaBody).changed.find((d) => d._id === 'n1')).toMatchObject({
      v: 2,
      _acl: expect.any(Object),
      _kmd: { lmt: expect.stringMatching(ISO) },
    });
    expect(deletedIds(res.body)).toEqual(['n2', 'n3', 'n4']);
    expect(Object.keys(res.body as object).sort()).toEqual(['changed', 'deleted']);

    // The next delta set from the returned start sees nothing new.
    await nextMillisecond();
    const again = await delta('notes', 'bob', { since: res.headers['x-kinvey-request-start'] as string }).expect(200);
    expect(again.body).toEqual({ changed: [], deleted: [] });

    // remove-collection leaves a tombstone for every entity.
    await api()
      .post(`/rpc/${ctx.t.appKey}/remove-collection`)
      .set('Authorization', as('master'))
      .send({ collectionName: 'notes' })
      .expect(200, { count: 3 });
    const cleared = await delta('notes', 'bob', { since: res.headers['x-kinvey-request-start'] as string }).expect(200);
    expect(changedIds(cleared.body)).toEqual([]);
    expect(deletedIds(cleared.body)).toEqual(['n1', 'n5', 'n6']);
  });

  test('the query restricts changed entities; fields and sort apply to them', async () => {
    await post('notes', 'alice', { _id: 'q0', city: 'Berlin', n: 0 });
    await nextMillisecond();
    const since = await readStart('notes', 'alice');
    await nextMillisecond();
    await post('notes', 'alice', { _id: 'q1', city: 'Berlin', n: 2, extra: 'x' });
    await post('notes', 'alice', { _id: 'q2', city: 'Paris', n: 1 });
    await post('notes', 'alice', { _id: 'q3', city: 'Berlin', n: 1, extra: 'y' });
    const res = await delta('notes', 'alice', {
      since,
      query: JSON.stringify({ city: 'Berlin' }),
      sort: JSON.stringify({ n: 1 }),
      fields: 'n',
    }).expect(200);
    expect((res.body as DeltaBody).changed).toEqual([
      { _id: 'q3', n: 1 },
      { _id: 'q1', n: 2 },
    ]);
  });

  test("private collection: another user's entities are neither among the changed nor the deleted", async () => {
    await post('diary', 'alice', { _id: 'd-secret', v: 1 });
    await post('diary', 'alice', { _id: 'd-open', v: 1, _acl: { gr: true } });
    await post('diary', 'alice', { _id: 'd-for-bob', v: 1, _acl: { r: [ctx.userIds.bob] } });
    await post('diary', 'bob', { _id: 'd-bob', v: 1 });
    await nextMillisecond();
    const since = await readStart('diary', 'bob');
    await nextMillisecond();
    await api()
      .put(`/appdata/${ctx.t.appKey}/diary/d-secret`)
      .set('Authorization', as('alice'))
      .send({ v: 2 })
      .expect(200);
    await post('diary', 'alice', { _id: 'd-secret-new', v: 1 });
    await api().delete(`/appdata/${ctx.t.appKey}/diary/d-secret`).set('Authorization', as('alice')).expect(200);
    await api().delete(`/appdata/${ctx.t.appKey}/diary/d-open`).set('Authorization', as('alice')).expect(200);
    await api().delete(`/appdata/${ctx.t.appKey}/diary/d-for-bob`).set('Authorization', as('alice')).expect(200);
    await api().put(`/appdata/${ctx.t.appKey}/diary/d-bob`).set('Authorization', as('bob')).send({ v: 2 }).expect(200);

    const bob = await delta('diary', 'bob', { since }).expect(200);
    expect(changedIds(bob.body)).toEqual(['d-bob']);
    expect(deletedIds(bob.body)).toEqual(['d-for-bob', 'd-open']);

    const alice = await delta('diary', 'alice', { since }).expect(200);
    expect(changedIds(alice.body)).toEqual(['d-secret-new']);
    expect(deletedIds(alice.body)).toEqual(['d-for-bob', 'd-open', 'd-secret']);

    const master = await delta('diary', 'master', { since }).expect(200);
    expect(changedIds(master.body)).toEqual(['d-bob', 'd-secret-new']);
    expect(deletedIds(master.body)).toEqual(['d-for-bob', 'd-open', 'd-secret']);
  });

  test("a user who re-creates and deletes an id another user had deleted does not erase that user's tombstone", async () => {
    await post('diary', 'alice', { _id: 'd-shared-id', v: 1 });
    await nextMillisecond();
    const aliceSince = await readStart('diary', 'alice');
    const bobSince = await readStart('diary', 'bob');
    await nextMillisecond();
    await api()
      .delete(`/appdata/${ctx.t.appKey}/diary/d-shared-id`)
      .set('Authorization', as('alice'))
      .expect(200, { count: 1 });
    // The id is free: bob takes it for an entity of his own and deletes that one too.
    await post('diary', 'bob', { _id: 'd-shared-id', v: 2 });
    await api()
      .delete(`/appdata/${ctx.t.appKey}/diary/d-shared-id`)
      .set('Authorization', as('bob'))
      .expect(200, { count: 1 });

    expect(deletedIds((await delta('diary', 'alice', { since: aliceSince }).expect(200)).body)).toContain(
      'd-shared-id',
    );
    expect(deletedIds((await delta('diary', 'bob', { since: bobSince }).expect(200)).body)).toContain('d-shared-id');
    // Two tombstones, one id.
    expect(
      deletedIds((await delta('diary', 'master', { since: aliceSince }).expect(200)).body).filter(
        (id) => id === 'd-shared-id',
      ),
    ).toHaveLength(1);
  });

  test('deleting one id again and again keeps one tombstone per ACL, reported from the first deletion on', async () => {
    const tombstonesOf = (entityId: string) =>
      ctx.t.documents.count({ appKey: ctx.t.appKey, collection: '_tombstone' }, { entityId });
    await nextMillisecond();
    const since = await readStart('diary', 'alice');
    await nextMillisecond();
    for (let round = 0; round < 3; round++) {
      await post('diary', 'alice', { _id: 'd-again', round });
      await api()
        .delete(`/appdata/${ctx.t.appKey}/diary/d-again`)
        .set('Authorization', as('alice'))
        .expect(200, { count: 1 });
    }
    expect(await tombstonesOf('d-again')).toBe(1);
    await post('diary', 'alice', { _id: 'd-again', round: 3, _acl: { gr: true } });
    await api()
      .delete(`/appdata/${ctx.t.appKey}/diary`)
      .query({ query: JSON.stringify({ _id: 'd-again' }) })
      .set('Authorization', as('alice'))
      .expect(200, { count: 1 });
    expect(await tombstonesOf('d-again')).toBe(2);
    expect(deletedIds((await delta('diary', 'alice', { since }).expect(200)).body)).toContain('d-again');
    expect(deletedIds((await delta('diary', 'bob', { since }).expect(200)).body)).toContain('d-again');
  });

  test('an entity deleted by query and created again at once keeps its tombstone when another one found escapes the query', async () => {
    // The store, as a concurrent client changes it: while alice's delete by query runs, r-escapes
    // stops matching it, and r-open is created again, private, right after it was deleted.
    let raced = false;
    const racing = (store: DocumentStore): DocumentStore =>
      Object.assign(Object.create(store) as DocumentStore, {
        deleteMany: async (scope: { appKey: string; collection: string }, filter: Filter) => {
          if (scope.collection !== 'diary' || raced) return store.deleteMany(scope, filter);
          raced = true;
          await store.setFields(scope, 'r-escapes', { kind: 'kept', '_kmd.lmt': new Date().toISOString() });
          const count = await store.deleteMany(scope, filter);
          const now = new Date().toISOString();
          await store.insert(scope, {
            _id: 'r-open',
            v: 2,
            _acl: { creator: own.userIds.alice },
            _kmd: { ect: now, lmt: now },
          });
          return count;
        },
      });
    const own = {
      t: await startTestApp({
        documents,
        collections: { diary: { permissions: 'private', deltaSet: true } },
        wrapDocuments: racing,
      }),
      userIds: {} as Record<string, string>,
      auth: {} as Record<string, string>,
    };
    try {
      for (const name of ['alice', 'bob']) {
        const user = await createUser(own.t, name);
        own.auth[name] = user.auth;
        own.userIds[name] = user.id;
      }
      const ownApi = () => request(own.t.app);
      await ownApi()
        .post(`/appdata/${own.t.appKey}/diary`)
        .set('Authorization', own.auth.alice as string)
        .send({ _id: 'r-open', kind: 'scrap', _acl: { gr: true } })
        .expect(201);
      await ownApi()
        .post(`/appdata/${own.t.appKey}/diary`)
        .set('Authorization', own.auth.alice as string)
        .send({ _id: 'r-escapes', kind: 'scrap', _acl: { gr: true } })
        .expect(201);
      await nextMillisecond();
      const since = (
        await ownApi()
          .get(`/appdata/${own.t.appKey}/diary`)
          .set('Authorization', own.auth.bob as string)
          .expect(200)
      ).headers['x-kinvey-request-start'] as string;
      await nextMillisecond();
      await ownApi()
        .delete(`/appdata/${own.t.appKey}/diary`)
        .query({ query: JSON.stringify({ kind: 'scrap' }) })
        .set('Authorization', own.auth.alice as string)
        .expect(200, { count: 1 });
      expect(raced).toBe(true);

      // Bob could read the r-open that went, not the one there now: he must learn it went.
      const res = await ownApi()
        .get(`/appdata/${own.t.appKey}/diary/_deltaset`)
        .set('Authorization', own.auth.bob as string)
        .query({ since })
        .expect(200);
      expect(deletedIds(res.body)).toEqual(['r-open']);
      expect(changedIds(res.body)).toEqual(['r-escapes']);
    } finally {
      await own.t.close();
    }
  });

  test('tombstones stored before one was kept per deletion (one per collection and id) are still reported', async () => {
    await nextMillisecond();
    const since = await readStart('diary', 'alice');
    await nextMillisecond();
    await ctx.t.documents.insert(
      { appKey: ctx.t.appKey, collection: '_tombstone' },
      {
        _id: 'diary/d-legacy',
        kind: 'tombstone',
        collection: 'diary',
        entityId: 'd-legacy',
        deletedAt: new Date().toISOString(),
        _acl: { creator: ctx.userIds.alice },
      },
    );
    await post('diary', 'alice', { _id: 'd-legacy', v: 1 });
    await api()
      .delete(`/appdata/${ctx.t.appKey}/diary/d-legacy`)
      .set('Authorization', as('alice'))
      .expect(200, { count: 1 });
    expect(
      deletedIds((await delta('diary', 'alice', { since }).expect(200)).body).filter((id) => id === 'd-legacy'),
    ).toHaveLength(1);
    expect(deletedIds((await delta('diary', 'bob', { since }).expect(200)).body)).not.toContain('d-legacy');
  });

  test('a refused delete leaves no tombstone', async () => {
    await post('diary', 'alice', { _id: 'd-keep', v: 1, _acl: { gr: true } });
    await nextMillisecond();
    const since = await readStart('diary', 'bob');
    await api().delete(`/appdata/${ctx.t.appKey}/diary/d-keep`).set('Authorization', as('bob')).expect(401);
    await api()
      .delete(`/appdata/${ctx.t.appKey}/diary`)
      .query({ query: JSON.stringify({ _id: 'd-keep' }) })
      .set('Authorization', as('bob'))
      .expect(200, { count: 0 });
    const res = await delta('diary', 'alice', { since }).expect(200);
    expect(deletedIds(res.body)).not.toContain('d-keep');
  });
});
