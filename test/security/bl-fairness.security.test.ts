/**
 * One user's load against everyone else's Business Logic: an app's isolates are shared fairly
 * between callers (IsolatePool). A user flooding an endpoint with legal calls that keep their
 * isolates busy (here: until the test opens their gate, so no step depends on timing) must not
 * queue another user's hooks behind the flood, nor hold an unbounded queue.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

// Records that it started, then waits (awaiting host calls, never spinning) until its gate exists.
const gated = (signature: string, who: string, gateId: string, done: string) => `function ${signature} {
  var ca = modules.collectionAccess;
  var gate = ${gateId};
  ca.collection('starts').insert({ who: '${who}', gate: gate }).then(function wait() {
    return ca.collection('gates').findOne({ _id: gate }).then(function (open) {
      if (open) ${done}; else setTimeout(wait, 5);
    });
  });
}`;

let t: TestApp;
let dir: string;

beforeEach(async () => {
  dir = makeTempDir('kinbase-bl-fairness-');
  writeFileSync(
    path.join(dir, 'env.json'),
    JSON.stringify({
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: { notes: { type: 'internal', permissions: 'shared' } },
      collectionHooks: {
        notes: {
          onPreSave: {
            type: 'internal',
            code: gated(
              'onPreSave(request, response, modules)',
              'write',
              "'write-' + request.body.title",
              'response.continue()',
            ),
          },
        },
      },
      customEndpoints: {
        report: {
          type: 'internal',
          code: gated(
            'onRequest(request, response, modules)',
            'flood',
            "'flood-' + request.body.n",
            'response.complete(200)',
          ),
        },
      },
    }),
  );
  // A generous time limit: the gates, not the clock, decide when calls end.
  t = await startTestApp({
    env: { KINBASE_BL_TIMEOUT_MS: '20000', KINBASE_BL_ISOLATES_PER_APP: '2' },
    environment: { file: path.join(dir, 'env.json') },
  });
});

afterEach(async () => {
  await t?.close();
  if (dir) removeTempDir(dir);
});

/** Polls `probe` until it answers true (the test's own timeout ends a wait that never does). */
async function until(probe: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 10));
}

const starts = async (): Promise<Array<{ who: string; gate: string }>> =>
  (await t.documents.find({ appKey: t.appKey, collection: 'starts' }, {})) as unknown as Array<{
    who: string;
    gate: string;
  }>;

const openGate = (id: string) =>
  request(t.app).post(`/appdata/${t.appKey}/gates`).set('Authorization', t.masterAuth).send({ _id: id }).expect(201);

function flood(auth: string, calls: number): Array<Promise<request.Response>> {
  return Array.from({ length: calls }, (_, n) =>
    request(t.app)
      .post(`/rpc/${t.appKey}/custom/report`)
      .set('Authorization', auth)
      .send({ n })
      .then((res) => res),
  );
}

it("a user flooding an endpoint with calls that never end cannot take the last isolate: another user's hooked write runs and completes meanwhile", async () => {
  const flooder = await createUser(t, 'flooder');
  const writer = await createUser(t, 'writer');
  const floodCaller = `user:${flooder.id}`;
  const writerCaller = `user:${writer.id}`;

  const calls = flood(flooder.auth, 8);
  // Two isolates: the flood holds its share (one), the rest of it waits; the other isolate stays free.
  await until(
    () => t.sandbox.stats(t.appKey).held[floodCaller] === 1 && t.sandbox.stats(t.appKey).waiting[floodCaller] === 7,
  );
  await until(async () => (await starts()).length === 1);
  const write = request(t.app)
    .post(`/appdata/${t.appKey}/notes`)
    .set('Authorization', writer.auth)
    .send({ title: 'mine' })
    .then((res) => res);

  // Every flood gate is still closed: the write starts on the isolate the flood cannot take.
  await until(async () => (await starts()).length === 2);
  expect((await starts()).map((s) => s.who)).toEqual(['flood', 'write']);
  expect(t.sandbox.stats(t.appKey)).toEqual({
    held: { [floodCaller]: 1, [writerCaller]: 1 },
    waiting: { [floodCaller]: 7 },
  });
  await openGate('write-mine');
  const written = await write;
  expect(written.status).toBe(201);
  expect(written.body).toMatchObject({ title: 'mine' });

  for (let n = 0; n < 8; n += 1) await openGate(`flood-${n}`);
  expect((await Promise.all(calls)).map((res) => res.status)).toEqual(Array(8).fill(200));
});

it('a user flooding an endpoint gets at most 16 calls waiting: the rest are refused at once with BLTimeoutError, and the flood ends', async () => {
  const flooder = await createUser(t, 'flooder');
  const floodCaller = `user:${flooder.id}`;
  let answered = 0;
  const calls = flood(flooder.auth, 24).map((call) =>
    call.then((res) => {
      answered += 1;
      return res;
    }),
  );

  // Every gate is still closed: only refusals can have answered.
  await until(() => answered === 7);
  expect(t.sandbox.stats(t.appKey)).toEqual({ held: { [floodCaller]: 1 }, waiting: { [floodCaller]: 16 } });

  for (let n = 0; n < 24; n += 1) await openGate(`flood-${n}`);
  const results = await Promise.all(calls);
  const refused = results.filter((res) => res.status !== 200);
  expect(refused).toHaveLength(7);
  for (const res of refused)
    expect(res).toMatchObject({
      status: 550,
      body: { error: 'BLTimeoutError', debug: expect.stringContaining('already waiting') },
    });
  expect(t.sandbox.stats(t.appKey)).toEqual({ held: {}, waiting: {} });
});
