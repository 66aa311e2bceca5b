/**
 * Kinvey roles through the REST API on both document stores: the roles API and memberships
 * (master only), `_acl.roles.r|u|d` on entities and files, and role-based collection permissions
 * (`hrdocs`: all users may create but only the HR role may read; `notes`: private). One app per
 * store, with the role HR; each test gets its own alice (who will hold HR) and bob (who will not),
 * its own entity ids (`k(name)`) and a tag its lists and counts filter on, so tests share nothing.
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

interface Ctx {
  t: TestApp;
  alice: { id: string; auth: string };
  bob: { id: string; auth: string };
  hr: string;
  tag: string;
}

let run = 0;
const NO_USER = { id: '', auth: '' };

describe.each(DOCUMENT_STORES)('roles on the %s store', (kind: DocumentsKind) => {
  let t: TestApp;
  let hr: string;
  let c: Ctx;
  const api = () => request(c.t.app);
  /** This test's id for an entity. */
  const k = (name: string) => `${c.tag}-${name}`;
  const mine = () => ({ query: JSON.stringify({ t: c.tag }) });
  const newRole = async (name: string) =>
    (
      await api()
        .post(`/roles/${c.t.appKey}`)
        .set('Authorization', master())
        .send({ name: k(name) })
        .expect(201)
    ).body._id as string;
  const master = () => c.t.masterAuth;
  const grant = (userId: string, roleId: string, auth = master()) =>
    api().put(`/user/${c.t.appKey}/${userId}/roles/${roleId}`).set('Authorization', auth).send({});
  const ids = (body: Array<{ _id: string }>) => body.map((d) => d._id).sort();
  const list = async (collection: string, auth: string) =>
    ids(
      (await api().get(`/appdata/${c.t.appKey}/${collection}`).query(mine()).set('Authorization', auth).expect(200))
        .body,
    );

  beforeAll(async () => {
    t = await startTestApp({
      documents: kind,
      collections: {
        notes: { permissions: 'private' },
        hrdocs: {
          permissions: {
            'all-users': { create: 'always', read: 'never', update: 'never', delete: 'never' },
            HR: { read: 'always', update: 'grant', delete: 'entity' },
          },
          deltaSet: true,
        },
      },
    });
    const role = await request(t.app)
      .post(`/roles/${t.appKey}`)
      .set('Authorization', t.masterAuth)
      .send({ name: 'HR', description: 'Human resources' });
    expect(role.status).toBe(201);
    hr = role.body._id;
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    const tag = `t${++run}`;
    c = { t, hr, tag, alice: NO_USER, bob: NO_USER };
  });
  /** alice and bob for the tests that use them (signing up costs two password hashes each). */
  const withUsers = () =>
    beforeEach(async () => {
      c.alice = await createUser(t, `alice-${c.tag}`);
      c.bob = await createUser(t, `bob-${c.tag}`);
    });

  describe('the roles API', () => {
    test('create answers 201 with a generated _id, the name and the description; other fields, _id included, are ignored', async () => {
      const res = await api()
        .post(`/roles/${c.t.appKey}`)
        .set('Authorization', master())
        .send({ _id: 'chosen', name: k('Auditor'), description: 'Reads the books', extra: 1 });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/roles/${c.t.appKey}/${res.body._id}`);
      expect(res.body).toEqual({
        _id: expect.stringMatching(/^[0-9a-f]{24}$/),
        name: k('Auditor'),
        description: 'Reads the books',
        _kmd: { lmt: expect.any(String), ect: expect.any(String) },
      });
    });

    test('list, read, update and delete a role', async () => {
      const temp = await newRole('Temp');
      const listed = await api().get(`/roles/${c.t.appKey}`).set('Authorization', master()).expect(200);
      expect(listed.body).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ _id: c.hr, name: 'HR', description: 'Human resources' }),
          expect.objectContaining({ _id: temp, name: k('Temp') }),
        ]),
      );
      const read = await api().get(`/roles/${c.t.appKey}/${temp}`).set('Authorization', master()).expect(200);
      expect(read.body.name).toBe(k('Temp'));
      const updated = await api()
        .put(`/roles/${c.t.appKey}/${temp}`)
        .set('Authorization', master())
        .send({ name: k('People'), description: 'renamed' })
        .expect(200);
      expect(updated.body).toMatchObject({ _id: temp, name: k('People'), description: 'renamed' });
      await api().delete(`/roles/${c.t.appKey}/${temp}`).set('Authorization', master()).expect(204);
      const gone = await api().get(`/roles/${c.t.appKey}/${temp}`).set('Authorization', master());
      expect(gone.status).toBe(404);
      expect(gone.body.error).toBe('EntityNotFound');
    });

    test.each([
      ['no name', {}],
      ['an empty name', { name: '' }],
      ['a name that is not a string', { name: 7 }],
      ['the built-in all-users name', { name: 'all-users' }],
      ['a description that is not a string', { name: 'X', description: ['x'] }],
    ])('a body with %s is 400 BadRequest', async (_name, body) => {
      const res = await api().post(`/roles/${c.t.appKey}`).set('Authorization', master()).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('BadRequest');
    });

    test('a taken name is 409 EntityAlreadyExists, on create and on rename', async () => {
      const again = await api().post(`/roles/${c.t.appKey}`).set('Authorization', master()).send({ name: 'HR' });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('EntityAlreadyExists');
      const other = await newRole('Ops');
      const rename = await api()
        .put(`/roles/${c.t.appKey}/${other}`)
        .set('Authorization', master())
        .send({ name: 'HR' });
      expect(rename.status).toBe(409);
    });
  });

  describe('memberships', () => {
    withUsers();
    test('grant answers 204; the user lists the role and the role lists the user, with who granted it and when', async () => {
      const role = await newRole('Members');
      expect((await grant(c.alice.id, role)).status).toBe(204);
      expect((await grant(c.alice.id, role)).status).toBe(204); // again: nothing changes
      const mine = await api()
        .get(`/user/${c.t.appKey}/${c.alice.id}/roles`)
        .set('Authorization', master())
        .expect(200);
      const membership = { roleId: role, userId: c.alice.id, grantedBy: c.t.appKey, grantDate: expect.any(String) };
      expect(mine.body).toEqual([membership]);
      const members = await api()
        .get(`/roles/${c.t.appKey}/${role}/membership`)
        .set('Authorization', master())
        .expect(200);
      expect(members.body).toEqual([membership]);
    });

    test('revoke answers 204, and 404 once the user no longer holds the role', async () => {
      await grant(c.alice.id, c.hr).expect(204);
      const revoke = () =>
        api().delete(`/user/${c.t.appKey}/${c.alice.id}/roles/${c.hr}`).set('Authorization', master());
      expect((await revoke()).status).toBe(204);
      expect((await revoke()).status).toBe(404);
      const mine = await api().get(`/user/${c.t.appKey}/${c.alice.id}/roles`).set('Authorization', master());
      expect(mine.body).toEqual([]);
    });

    test('an unknown user is 404 UserNotFound; an unknown role is 404 EntityNotFound', async () => {
      const noUser = await grant('no-such-user', c.hr);
      expect(noUser.status).toBe(404);
      expect(noUser.body.error).toBe('UserNotFound');
      const noRole = await grant(c.alice.id, 'no-such-role');
      expect(noRole.status).toBe(404);
      expect(noRole.body.error).toBe('EntityNotFound');
      const members = await api().get(`/roles/${c.t.appKey}/no-such-role/membership`).set('Authorization', master());
      expect(members.status).toBe(404);
    });

    test('deleting a role ends its memberships', async () => {
      const role = await newRole('Doomed');
      await grant(c.alice.id, role).expect(204);
      await api().delete(`/roles/${c.t.appKey}/${role}`).set('Authorization', master()).expect(204);
      const mine = await api().get(`/user/${c.t.appKey}/${c.alice.id}/roles`).set('Authorization', master());
      expect(mine.body).toEqual([]);
    });

    test('deleting a user for good ends their memberships', async () => {
      await grant(c.bob.id, c.hr).expect(204);
      await api()
        .delete(`/user/${c.t.appKey}/${c.bob.id}`)
        .query({ hard: 'true' })
        .set('Authorization', master())
        .expect(204);
      const members = await api().get(`/roles/${c.t.appKey}/${c.hr}/membership`).set('Authorization', master());
      expect(members.body.map((m: { userId: string }) => m.userId)).not.toContain(c.bob.id);
    });
  });

  describe('_acl.roles on a private collection', () => {
    withUsers();
    const notes = () => `/appdata/${c.t.appKey}/notes`;
    beforeEach(async () => {
      const seed = (body: object) => api().post(notes()).set('Authorization', master()).send(body).expect(201);
      await seed({ _id: k('hr-read'), t: c.tag, _acl: { roles: { r: [c.hr] } } });
      await seed({ _id: k('hr-update'), t: c.tag, _acl: { roles: { u: [c.hr] } } });
      await seed({ _id: k('hr-delete'), t: c.tag, _acl: { roles: { d: [c.hr] } } });
      await seed({ _id: k('closed'), t: c.tag });
    });

    test('a role grants reads through r only: lists, reads by id and counts; a membership change applies to the open session', async () => {
      expect(await list('notes', c.alice.auth)).toEqual([]);
      await grant(c.alice.id, c.hr).expect(204);
      expect(await list('notes', c.alice.auth)).toEqual([k('hr-read')]);
      await api()
        .get(`${notes()}/${k('hr-read')}`)
        .set('Authorization', c.alice.auth)
        .expect(200);
      const count = await api().get(`${notes()}/_count`).query(mine()).set('Authorization', c.alice.auth).expect(200);
      expect(count.body).toEqual({ count: 1 });
      expect(await list('notes', c.bob.auth)).toEqual([]);
      await api().delete(`/user/${c.t.appKey}/${c.alice.id}/roles/${c.hr}`).set('Authorization', master()).expect(204);
      expect(await list('notes', c.alice.auth)).toEqual([]);
    });

    test('u grants updates and d grants deletes, each alone', async () => {
      await grant(c.alice.id, c.hr).expect(204);
      const put = (id: string) =>
        api()
          .put(`${notes()}/${k(id)}`)
          .set('Authorization', c.alice.auth)
          .send({ t: c.tag, edited: true });
      const del = (id: string) =>
        api()
          .delete(`${notes()}/${k(id)}`)
          .set('Authorization', c.alice.auth);
      expect((await put('hr-update')).status).toBe(200);
      expect((await put('hr-delete')).status).toBe(401);
      expect((await del('hr-update')).status).toBe(401);
      expect((await del('hr-delete')).status).toBe(200);
      // Delete by query touches only what the role may delete.
      const byQuery = await api().delete(notes()).query(mine()).set('Authorization', c.alice.auth).expect(200);
      expect(byQuery.body).toEqual({ count: 0 });
      expect((await put('closed')).status).toBe(401);
    });

    test('a role id in _acl.roles is validated: a malformed list is 400', async () => {
      const res = await api()
        .post(notes())
        .set('Authorization', c.alice.auth)
        .send({ _acl: { roles: { r: [{ $ne: null }] } } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('BadRequest');
    });

    test('a file whose _acl.roles.r names the role is readable by its holders only', async () => {
      const file = await api()
        .post(`/blob/${c.t.appKey}`)
        .set('Authorization', master())
        .set('X-Kinvey-Content-Type', 'text/plain')
        .send({ _filename: 'payroll.txt', _acl: { roles: { r: [c.hr] } } })
        .expect(201);
      const read = (auth: string) => api().get(`/blob/${c.t.appKey}/${file.body._id}`).set('Authorization', auth);
      expect((await read(c.alice.auth)).status).toBe(401);
      await grant(c.alice.id, c.hr).expect(204);
      expect((await read(c.alice.auth)).status).toBe(200);
      expect((await read(c.bob.auth)).status).toBe(401);
    });
  });

  describe('role-based collection permissions (hrdocs: all users create, only HR reads)', () => {
    withUsers();
    const hrdocs = () => `/appdata/${c.t.appKey}/hrdocs`;
    beforeEach(async () => {
      await api()
        .post(hrdocs())
        .set('Authorization', c.bob.auth)
        .send({ _id: k('by-bob'), t: c.tag, amount: 2 })
        .expect(201);
      await api()
        .post(hrdocs())
        .set('Authorization', master())
        .send({ _id: k('granted'), t: c.tag, amount: 3, _acl: { roles: { u: [c.hr] } } })
        .expect(201);
    });

    test('all users create; nobody but HR reads, even their own entities', async () => {
      expect(await list('hrdocs', c.bob.auth)).toEqual([]);
      const own = await api()
        .get(`${hrdocs()}/${k('by-bob')}`)
        .set('Authorization', c.bob.auth);
      expect(own.status).toBe(401);
      expect(own.body.error).toBe('InsufficientCredentials');
      await grant(c.alice.id, c.hr).expect(204);
      expect(await list('hrdocs', c.alice.auth)).toEqual([k('by-bob'), k('granted')]);
    });

    test('counts, aggregations and delta sets see what the role may read', async () => {
      const count = (auth: string) => api().get(`${hrdocs()}/_count`).query(mine()).set('Authorization', auth);
      const sum = (auth: string) =>
        api()
          .post(`${hrdocs()}/_group`)
          .set('Authorization', auth)
          .send({
            key: {},
            condition: { t: c.tag },
            initial: { total: 0 },
            reduce: 'function(doc, out) { out.total += doc.amount; }',
          });
      expect((await count(c.bob.auth)).body).toEqual({ count: 0 });
      expect((await sum(c.bob.auth)).body).toEqual([]);
      await grant(c.alice.id, c.hr).expect(204);
      expect((await count(c.alice.auth)).body).toEqual({ count: 2 });
      expect((await sum(c.alice.auth)).body).toEqual([{ total: 5 }]);
      // A delta set since a full read: the change bob makes after it reaches HR only.
      const full = await api().get(hrdocs()).set('Authorization', c.alice.auth).expect(200);
      const since = full.headers['x-kinvey-request-start'] as string;
      await api()
        .post(hrdocs())
        .set('Authorization', c.bob.auth)
        .send({ _id: k('late'), t: c.tag, amount: 1 })
        .expect(201);
      const delta = (auth: string) =>
        api().get(`${hrdocs()}/_deltaset`).query({ since }).set('Authorization', auth).expect(200);
      expect(ids((await delta(c.alice.auth)).body.changed)).toEqual([k('late')]);
      expect((await delta(c.bob.auth)).body.changed).toEqual([]);
    });

    test('grant updates only entities naming the role in _acl.roles.u; entity deletes what the _acl grants', async () => {
      await grant(c.alice.id, c.hr).expect(204);
      const put = (id: string) =>
        api()
          .put(`${hrdocs()}/${k(id)}`)
          .set('Authorization', c.alice.auth)
          .send({ t: c.tag, amount: 9 });
      expect((await put('granted')).status).toBe(200);
      expect((await put('by-bob')).status).toBe(401);
      // Bob created by-bob, but all-users may never delete; HR's entity access does not reach it either.
      const del = (id: string, auth: string) =>
        api()
          .delete(`${hrdocs()}/${k(id)}`)
          .set('Authorization', auth);
      expect((await del('by-bob', c.bob.auth)).status).toBe(401);
      expect((await del('by-bob', c.alice.auth)).status).toBe(401);
      await api()
        .post(hrdocs())
        .set('Authorization', c.alice.auth)
        .send({ _id: k('by-alice') })
        .expect(201);
      expect((await del('by-alice', c.alice.auth)).status).toBe(200);
    });

    test('a user whose roles allow no delete at all is refused a delete by query, not answered 0', async () => {
      const res = await api().delete(hrdocs()).query(mine()).set('Authorization', c.bob.auth);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('InsufficientCredentials');
    });
  });
});
