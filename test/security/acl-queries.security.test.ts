/**
 * Property test through the real API on both stores: whatever query, sort and paging a user
 * sends, lists, counts and deletes by query only ever touch entities that user may read (or
 * write, for deletes). Entities get random ACLs from three owners; the reader is random.
 */
import fc from 'fast-check';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

const NAMES = ['ann', 'ben', 'cat'];

const aclArb = fc.record({
  owner: fc.constantFrom(...NAMES),
  gr: fc.boolean(),
  gw: fc.boolean(),
  r: fc.subarray(NAMES),
  w: fc.subarray(NAMES),
});
const condition = fc.oneof(
  fc.constantFrom('x', 'y', 'xy', 'yy').map((s) => ({ $regex: `^${s}` })),
  fc.constantFrom('xa', 'yb', 'xyc').map((s) => s),
  fc.constantFrom('x', 'y').map((s) => ({ $gte: s })),
  fc.boolean().map((b) => ({ $exists: b })),
);
const queryArb = fc.oneof(
  condition.map((c) => ({ secret: c })),
  fc.tuple(condition, condition).map(([a, b]) => ({ $or: [{ secret: a }, { secret: b }] })),
  condition.map((c) => ({ $nor: [{ secret: c }] })),
  fc.constant({}),
);

describe.each(DOCUMENT_STORES)('random queries never reach outside the ACL on the %s store', (documents) => {
  let t: TestApp;
  const users: Record<string, { id: string; auth: string }> = {};
  beforeAll(async () => {
    t = await startTestApp({ documents, collections: { vault: { permissions: 'private' } } });
    for (const name of NAMES) users[name] = await createUser(t, name);
  });
  afterAll(async () => t.close());

  test('lists, counts and deletes by query see exactly the permitted entities', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(aclArb, fc.constantFrom('xa', 'yb', 'xyc', 'zz')), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...NAMES),
        queryArb,
        async (rows, readerName, query) => {
          const collection = `vault${round++}`;
          const ids = (who: string) => [users[who]!.id];
          const expectedRead: string[] = [];
          const expectedWrite: string[] = [];
          for (const [i, [acl, secret]] of rows.entries()) {
            const _acl = { gr: acl.gr, gw: acl.gw, r: acl.r.flatMap(ids), w: acl.w.flatMap(ids) };
            const res = await request(t.app)
              .post(`/appdata/${t.appKey}/vault`)
              .set('Authorization', users[acl.owner]!.auth)
              .send({ _id: `${collection}-${i}`, batch: collection, secret, _acl });
            expect(res.status).toBe(201);
            const mine = acl.owner === readerName;
            const canWrite = mine || acl.gw || acl.w.includes(readerName);
            if (canWrite || acl.gr || acl.r.includes(readerName)) expectedRead.push(`${collection}-${i}`);
            if (canWrite) expectedWrite.push(`${collection}-${i}`);
          }
          const scoped = { $and: [{ batch: collection }, query] };
          const reader = users[readerName]!.auth;
          const list = await request(t.app)
            .get(`/appdata/${t.appKey}/vault`)
            .query({ query: JSON.stringify(scoped) })
            .set('Authorization', reader);
          expect(list.status).toBe(200);
          const seen = (list.body as { _id: string }[]).map((d) => d._id);
          const all = await request(t.app)
            .get(`/appdata/${t.appKey}/vault`)
            .query({ query: JSON.stringify(scoped) })
            .set('Authorization', t.masterAuth);
          const matching = new Set((all.body as { _id: string }[]).map((d) => d._id));
          expect(seen.sort()).toEqual(expectedRead.filter((id) => matching.has(id)).sort());
          const count = await request(t.app)
            .get(`/appdata/${t.appKey}/vault/_count`)
            .query({ query: JSON.stringify(scoped) })
            .set('Authorization', reader);
          expect(count.body).toEqual({ count: seen.length });
          const removed = await request(t.app)
            .delete(`/appdata/${t.appKey}/vault`)
            .query({ query: JSON.stringify(scoped) })
            .set('Authorization', reader);
          expect(removed.body).toEqual({ count: expectedWrite.filter((id) => matching.has(id)).length });
        },
      ),
      { numRuns: 25 },
    );
  });
});
