/**
 * Delta sets are exact at the millisecond, on both document stores: a write acknowledged before a
 * read is not reported again by the delta set starting from that read's X-Kinvey-Request-Start,
 * even in the same millisecond; a write after the read is always reported; and a write already
 * stamped but still being stored when the read ran is reported by the next delta set, not lost.
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';
import type { CollectionScope, DocumentStore, StoredDocument } from '../../src/domain/ports';
import { TestClock } from '../support/test-clock';

interface DeltaBody {
  changed: { _id: string }[];
  deleted: { _id: string }[];
}
const changedIds = (body: unknown) => (body as DeltaBody).changed.map((d) => d._id).sort();
const deletedIds = (body: unknown) => (body as DeltaBody).deleted.map((d) => d._id).sort();

/**
 * Holds the store's write of one entity id until released, so a test can run a read while that
 * write is stamped but not yet stored. Every other call goes straight to the real store.
 */
class WriteGate {
  private release: (() => void) | undefined;
  private arrived: (() => void) | undefined;
  readonly reached: Promise<void>;
  private readonly opened: Promise<void>;

  constructor(private readonly heldId: string) {
    this.reached = new Promise((resolve) => (this.arrived = resolve));
    this.opened = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
  }

  wrap(store: DocumentStore): DocumentStore {
    const hold = async (doc: StoredDocument) => {
      if (doc._id !== this.heldId) return;
      this.arrived?.();
      await this.opened;
    };
    return Object.assign(Object.create(store) as DocumentStore, {
      insert: async (scope: CollectionScope, doc: StoredDocument) => {
        await hold(doc);
        return store.insert(scope, doc);
      },
      replace: async (
        scope: CollectionScope,
        doc: StoredDocument,
        filter?: Parameters<DocumentStore['replace']>[2],
      ) => {
        await hold(doc);
        return store.replace(scope, doc, filter);
      },
    });
  }
}

describe.each(DOCUMENT_STORES)('delta sets at the millisecond on the %s store', (documents) => {
  let t: TestApp;
  let auth: string;
  const gate = new WriteGate('in-flight');
  // The app's clock: it stands still (every write and read in the same millisecond) until a test moves it.
  const clock = new TestClock();
  const nextMillisecond = () => clock.advance(3);

  beforeAll(async () => {
    t = await startTestApp({
      documents,
      collections: { notes: { permissions: 'shared', deltaSet: true } },
      wrapDocuments: (store) => gate.wrap(store),
      clock: clock.now,
    });
    auth = (await createUser(t, 'alice')).auth;
  });
  afterAll(async () => {
    gate.open();
    await t.close();
  });
  // A second passes between tests, as it would on the wall clock: whatever lead the write clock
  // took over the base clock in one test is behind the next.
  beforeEach(() => clock.advance(1000));

  const api = () => request(t.app);
  const put = (id: string, body: object) =>
    api().put(`/appdata/${t.appKey}/notes/${id}`).set('Authorization', auth).send(body);
  const delta = (since: string) =>
    api().get(`/appdata/${t.appKey}/notes/_deltaset`).set('Authorization', auth).query({ since }).expect(200);
  const startOf = (res: request.Response) => res.headers['x-kinvey-request-start'] as string;

  test('a write acknowledged before a read in the same millisecond is not in the delta set from that read; a later one is', async () => {
    await put('same-ms', { v: 0 }).expect(201);
    nextMillisecond();
    const first = startOf(await api().get(`/appdata/${t.appKey}/notes`).set('Authorization', auth).expect(200));
    nextMillisecond();
    // From here on the clock stands still: the write and the reads share one millisecond.
    await put('same-ms', { v: 1 }).expect(200);
    const read = await delta(first);
    expect(changedIds(read.body)).toEqual(['same-ms']);
    const lmt = (read.body as { changed: { _kmd: { lmt: string } }[] }).changed[0]?._kmd.lmt;
    // Still the same millisecond of the app's clock: the read's start is after the write's stamp anyway.
    expect(clock.now().toISOString()).toBe(lmt);
    expect(startOf(read) > String(lmt)).toBe(true);

    const next = await delta(startOf(read));
    expect(next.body).toEqual({ changed: [], deleted: [] });

    await put('same-ms', { v: 2 }).expect(200);
    await api().delete(`/appdata/${t.appKey}/notes/gone`).set('Authorization', auth).expect(404);
    await put('gone', { v: 1 }).expect(201);
    await api().delete(`/appdata/${t.appKey}/notes/gone`).set('Authorization', auth).expect(200);
    const after = await delta(startOf(next));
    expect(changedIds(after.body)).toEqual(['same-ms']);
    expect(deletedIds(after.body)).toEqual(['gone']);
  });

  test('writes alone, however many in one millisecond, are stamped with that millisecond', async () => {
    const now = clock.now().toISOString();
    for (let i = 0; i < 5; i++) {
      const res = await put(`burst-${i}`, { i }).expect(201);
      expect((res.body as { _kmd: { lmt: string } })._kmd.lmt).toBe(now);
    }
  });

  test('a write stamped before a read started but stored after the read ran is in the next delta set', async () => {
    nextMillisecond();
    const first = startOf(await api().get(`/appdata/${t.appKey}/notes`).set('Authorization', auth).expect(200));
    nextMillisecond();
    const slowWrite = put('in-flight', { v: 1 }).then((res) => res);
    await gate.reached;
    nextMillisecond();
    // The read runs while the write is held in the store.
    const read = await delta(first);
    expect(changedIds(read.body)).not.toContain('in-flight');
    gate.open();
    expect((await slowWrite).status).toBe(201);

    const next = await delta(startOf(read));
    expect(changedIds(next.body)).toContain('in-flight');
  });
});
