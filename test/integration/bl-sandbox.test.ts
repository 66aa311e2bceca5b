/**
 * The Business Logic sandbox with real isolates and real document stores: Kinvey-style hooks and
 * endpoints run unchanged and see Kinvey's request, response and modules.
 */
import pino from 'pino';
import { Sandbox, type SandboxLimits } from '../../src/business-logic/sandbox/sandbox';
import type { BlInvocation, BlOutcome } from '../../src/business-logic/types';
import { DOCUMENT_STORES, startTestApp, type DocumentsKind, type TestApp } from '../support/test-app';

interface Harness {
  t: TestApp;
  sandbox: Sandbox;
  /** Runs `code`'s function `functionName` (onPreSave by default) on a fresh invocation. */
  run: (code: string, options?: RunOptions) => Promise<BlOutcome>;
  close: () => Promise<void>;
}

interface RunOptions {
  functionName?: BlInvocation['functionName'];
  body?: unknown;
  headers?: Record<string, string>;
  commonCode?: Array<{ name: string; code: string }>;
  tempObjectStore?: Record<string, unknown>;
}

async function harness(documents: DocumentsKind = 'embedded', limits?: SandboxLimits): Promise<Harness> {
  const t = await startTestApp({ documents });
  const sandbox = new Sandbox({
    documents: t.documents,
    logger: pino({ level: 'silent' }),
    ...(limits ? { limits } : {}),
  });
  const run = (code: string, options: RunOptions = {}): Promise<BlOutcome> => {
    const fn = sandbox.functionFor(
      t.appKey,
      { type: 'internal', code, origin: 'collectionHooks.books.onPreSave' },
      options.commonCode ?? [],
    );
    return fn.run(invocation(t.appKey, options));
  };
  return {
    t,
    sandbox,
    run,
    close: async () => {
      await sandbox.close();
      await t.close();
    },
  };
}

function invocation(appKey: string, options: RunOptions = {}): BlInvocation {
  const functionName = options.functionName ?? 'onPreSave';
  return {
    appKey,
    caller: 'user:u-alice',
    functionName,
    stage: functionName === 'onRequest' ? 'customEndpoint' : functionName.startsWith('onPost') ? 'post' : 'pre',
    request: {
      method: 'POST',
      headers: options.headers ?? {},
      body: options.body ?? {},
      params: {},
      username: 'alice',
      userId: 'u-alice',
      appKey,
      collectionName: 'books',
    },
    response: { status: 0, headers: {}, body: undefined },
    tempObjectStore: options.tempObjectStore ?? {},
  };
}

describe('Business Logic functions in the sandbox', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['a 12-character _id gets "_" appended', 'abcdefghijkl', 'abcdefghijkl_'],
    ['a 24-character _id gets "_" appended', 'a'.repeat(24), `${'a'.repeat(24)}_`],
    ['a 10-character _id is kept', 'abcdefghij', 'abcdefghij'],
  ])('the Files guide pre-save hook: %s', async (_name, id, expected) => {
    const code = `function onPreSave(request, response, modules) {
      if (request.body._id && (request.body._id.length === 12 || request.body._id.length === 24)) request.body._id += '_';
      response.continue();
    }`;
    const outcome = await h.run(code, { body: { _id: id, title: 'x' } });
    expect(outcome.continue).toBe(true);
    expect(outcome.request.body).toEqual({ _id: expected, title: 'x' });
    // Who asked and for what stays the server's.
    expect(outcome.request.username).toBe('alice');
    expect(outcome.request.appKey).toBe(h.t.appKey);
  });

  it("response.complete(status) ends the request with the hook's body and status", async () => {
    const outcome = await h.run(
      'function onPreSave(req, res) { res.body = {done: true}; res.headers["x-custom"] = "1"; res.complete(201); }',
    );
    expect(outcome).toMatchObject({
      continue: false,
      response: { status: 201, body: { done: true }, headers: { 'x-custom': '1' } },
    });
  });

  it('response.complete() without a status answers 200', async () => {
    const outcome = await h.run('function onPreSave(req, res) { res.body = [1]; res.complete(); }');
    expect(outcome.response.status).toBe(200);
  });

  it('response.error(message) answers 400 with a BLRuntimeError body', async () => {
    const outcome = await h.run('function onPreSave(req, res) { res.error("title is required"); }');
    expect(outcome).toMatchObject({
      continue: false,
      response: { status: 400, body: { error: 'BLRuntimeError', description: 'title is required', debug: '' } },
    });
  });

  it('only the first of continue/complete/error counts', async () => {
    const outcome = await h.run(
      'function onPreSave(req, res) { res.continue(); res.complete(500); res.error("late"); }',
    );
    expect(outcome.continue).toBe(true);
  });

  it('a custom endpoint answers through onRequest', async () => {
    const outcome = await h.run(
      'function onRequest(req, res, modules) { res.body = {hello: req.username}; res.complete(200); }',
      { functionName: 'onRequest' },
    );
    expect(outcome.response).toMatchObject({ status: 200, body: { hello: 'alice' } });
  });

  it('common code is in scope of the function and functions of two collections do not collide', async () => {
    const commonCode = [{ name: 'helpers', code: 'var PREFIX = "bk-"; function tag(x) { return PREFIX + x; }' }];
    const first = await h.run('function onPreSave(req, res) { req.body.tag = tag(req.body.n); res.continue(); }', {
      commonCode,
      body: { n: 1 },
    });
    const second = await h.run('function onPreSave(req, res) { req.body.other = tag("z"); res.continue(); }', {
      commonCode,
      body: {},
    });
    expect(first.request.body).toEqual({ n: 1, tag: 'bk-1' });
    expect(second.request.body).toEqual({ other: 'bk-z' });
  });

  it('tempObjectStore set by a pre hook is seen by the post hook of the same request', async () => {
    const temp: Record<string, unknown> = {};
    await h.run('function onPreSave(req, res, m) { m.tempObjectStore.set("seen", {by: "pre"}); res.continue(); }', {
      tempObjectStore: temp,
    });
    expect(temp).toEqual({ seen: { by: 'pre' } });
    const post = await h.run(
      'function onPostSave(req, res, m) { res.body = {got: m.tempObjectStore.get("seen"), all: m.utils.tempObjectStore.getAll()}; res.continue(); }',
      { functionName: 'onPostSave', tempObjectStore: temp },
    );
    expect(post.response.body).toEqual({ got: { by: 'pre' }, all: { seen: { by: 'pre' } } });
  });

  it('requestContext reads the user, custom request properties and the client app version', async () => {
    const code = `function onPreSave(req, res, m) {
      var c = m.requestContext;
      c.setCustomRequestProperty('added', 7);
      res.body = { user: c.getAuthenticatedUsername(), id: c.getAuthenticatedUserId(), tier: c.getCustomRequestProperty('tier'),
        all: c.getCustomRequestProperties(), version: c.clientAppVersion.stringValue(),
        parts: [c.clientAppVersion.majorVersion(), c.clientAppVersion.minorVersion(), c.clientAppVersion.patchVersion()] };
      res.continue();
    }`;
    const outcome = await h.run(code, {
      headers: { 'x-kinvey-custom-request-properties': '{"tier":"gold"}', 'x-kinvey-client-app-version': '2.5.1' },
    });
    expect(outcome.response.body).toEqual({
      user: 'alice',
      id: 'u-alice',
      tier: 'gold',
      all: { tier: 'gold', added: 7 },
      version: '2.5.1',
      parts: [2, 5, 1],
    });
    // Later functions of the request see the property set here.
    expect(JSON.parse(outcome.request.headers['x-kinvey-custom-request-properties'] as string)).toEqual({
      tier: 'gold',
      added: 7,
    });
  });

  it('lodash, moment and async are the real libraries (async.series with setTimeout)', async () => {
    const code = `function onPreSave(req, res, m) {
      m.async.series([
        function (cb) { setTimeout(function () { cb(null, m.lodash.kebabCase('Hello World')); }, 5); },
        function (cb) { setImmediate(function () { cb(null, m.moment.utc('2024-02-29T10:00:00Z').add(1, 'year').format('YYYY-MM-DD')); }); },
      ], function (err, results) { res.body = results; res.complete(200); });
    }`;
    const outcome = await h.run(code);
    expect(outcome.response.body).toEqual(['hello-world', '2025-02-28']);
  });

  it('an async function hook may await before continuing', async () => {
    const outcome = await h.run(
      'async function onPreSave(req, res) { await new Promise(function (r) { setTimeout(r, 1); }); req.body.late = true; res.continue(); }',
    );
    expect(outcome.request.body).toEqual({ late: true });
  });

  it('utils, kinvey and validation helpers work', async () => {
    const code = `function onPreSave(req, res, m) {
      var e = m.kinvey.entity({ name: 'n' });
      res.body = {
        b64: m.utils.base64.encode('héllo'), back: m.utils.base64.decode(m.utils.base64.encode('héllo')),
        text: m.utils.renderTemplate('Hi {{user.name}} {{html}} {{{html}}}', { user: { name: 'Al' }, html: '<b>' }),
        creator: e._acl.creator, hasKmd: typeof e._kmd.ect === 'string', isEntity: m.kinvey.isKinveyEntity(e), plain: m.kinvey.isKinveyEntity({}),
        invalid: m.validation.doValidation({ title: { required: true }, age: { min: 18 }, code: { pattern: '^[A-Z]+$' } }, { age: 12, code: 'abc' }),
        id: m.collectionAccess.objectID('abc'),
      };
      res.complete(200);
    }`;
    const body = (await h.run(code)).response.body as Record<string, unknown>;
    expect(body).toMatchObject({
      b64: 'aMOpbGxv',
      back: 'héllo',
      text: 'Hi Al &lt;b&gt; <b>',
      creator: 'u-alice',
      hasKmd: true,
      isEntity: true,
      plain: false,
      id: 'abc',
    });
    expect((body.invalid as Array<{ attr: string }>).map((f) => f.attr)).toEqual(['title', 'age', 'code']);
  });

  it('an unsupported module fails the call with BLRuntimeError naming the module', async () => {
    await expect(
      h.run('function onPreSave(req, res, m) { m.push.sendMessage([], "hi"); res.continue(); }'),
    ).rejects.toMatchObject({
      status: 550,
      error: 'BLRuntimeError',
      debug: expect.stringMatching(/modules\.push is not provided by kinbase/),
    });
  });

  it('a script that does not define the invoked function is a BLSyntaxError naming its origin', async () => {
    await expect(h.run('function onPostSave(req, res) { res.continue(); }')).rejects.toMatchObject({
      status: 550,
      error: 'BLSyntaxError',
      debug: expect.stringContaining('collectionHooks.books.onPreSave does not define function onPreSave'),
    });
  });
});

describe("the sandbox's lifecycle", () => {
  it('close() ends a running call with BLInternalError, and later calls fail the same way', async () => {
    const h = await harness();
    try {
      const running = h.run('function onPreSave(req, res) { setTimeout(function () { res.continue(); }, 1000); }');
      running.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await h.sandbox.close();
      await expect(running).rejects.toMatchObject({ status: 550, error: 'BLInternalError' });
      await expect(h.run('function onPreSave(req, res) { res.continue(); }')).rejects.toMatchObject({
        status: 550,
        error: 'BLInternalError',
      });
    } finally {
      await h.close();
    }
  });

  it('a syntax error is reported on every call without compiling again', async () => {
    const h = await harness();
    try {
      const fn = h.sandbox.functionFor(
        h.t.appKey,
        { type: 'internal', code: 'function onPreSave( {', origin: 'endpoints.broken' },
        [],
      );
      const first = await fn.run(invocation(h.t.appKey)).catch((err: unknown) => err);
      const second = await fn.run(invocation(h.t.appKey)).catch((err: unknown) => err);
      expect(first).toMatchObject({
        error: 'BLSyntaxError',
        debug: expect.stringContaining('endpoints.broken does not compile'),
      });
      expect(second).toBe(first);
    } finally {
      await h.close();
    }
  });
});

describe.each(DOCUMENT_STORES)('modules.collectionAccess on the %s store', (documents) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(documents);
  });
  afterEach(async () => {
    await h.close();
  });

  it('insert, find with options, findOne, count, update and remove round-trip through the store', async () => {
    const code = `function onRequest(req, res, m) {
      var books = m.collectionAccess.collection('books');
      var out = {};
      books.insert([{ _id: 'b1', title: 'A', n: 1 }, { _id: 'b2', title: 'B', n: 2 }, { title: 'C', n: 3 }], function (err, inserted) {
        if (err) return res.error(err.message);
        out.generatedId = typeof inserted[2]._id === 'string' && inserted[2]._id.length === 24;
        books.find({ n: { $gte: 2 } }, { sort: { n: -1 }, limit: 5, fields: ['title'] }, function (err, found) {
          out.found = found.map(function (d) { return [d.title, d.n === undefined]; });
          books.update({ _id: 'b1' }, { $set: { 'meta.seen': true }, $inc: { n: 10 }, $push: { tags: 'x' } }, function (err, count) {
            out.updated = count;
            books.update({ n: { $lt: 100 } }, { $unset: { title: 1 } }, { multi: true }, function (err, count) {
              out.multi = count;
              books.findOne({ _id: 'b1' }, function (err, doc) {
                out.b1 = doc;
                books.remove({ n: 2 }, function (err, removed) {
                  out.removed = removed;
                  books.count({}, function (err, count) { out.count = count; res.body = out; res.complete(200); });
                });
              });
            });
          });
        });
      });
    }`;
    const outcome = await h.run(code, { functionName: 'onRequest' });
    expect(outcome.response.body).toEqual({
      generatedId: true,
      found: [
        ['C', true],
        ['B', true],
      ],
      updated: 1,
      multi: 3,
      b1: { _id: 'b1', n: 11, meta: { seen: true }, tags: ['x'] },
      removed: 1,
      count: 2,
    });
    expect(await h.t.documents.find({ appKey: h.t.appKey, collection: 'books' }, { _id: 'b1' })).toEqual([
      { _id: 'b1', n: 11, meta: { seen: true }, tags: ['x'] },
    ]);
  });

  it('save replaces by _id, an update with upsert creates, a replacement update keeps _id', async () => {
    const code = `function onRequest(req, res, m) {
      var c = m.collectionAccess.collection('notes');
      c.save({ _id: 'n1', v: 1 }, function () {
        c.save({ _id: 'n1', v: 2 }, function () {
          c.update({ _id: 'n2' }, { $set: { v: 9 } }, { upsert: true }, function (err, upserted) {
            c.update({ _id: 'n1' }, { w: 3 }, function (err) {
              // Without a callback the methods return promises.
              c.find({}, { sort: [['_id', 'asc']] }).then(function (all) { res.body = { upserted: upserted, all: all }; res.complete(200); });
            });
          });
        });
      });
    }`;
    const outcome = await h.run(code, { functionName: 'onRequest' });
    expect(outcome.response.body).toEqual({
      upserted: 1,
      all: [
        { _id: 'n1', w: 3 },
        { _id: 'n2', v: 9 },
      ],
    });
  });

  it('user and _blob are reachable, internal collections are not', async () => {
    await h.t.documents.insert({ appKey: h.t.appKey, collection: 'user' }, { _id: 'u1', username: 'bob' });
    const code = `function onRequest(req, res, m) {
      m.collectionAccess.collection('user').findOne({ username: 'bob' }, function (err, user) {
        m.collectionAccess.collection('_credential').find({}, function (err2) {
          res.body = { user: user && user.username, refused: err2 && err2.message };
          res.complete(200);
        });
      });
    }`;
    const body = (await h.run(code, { functionName: 'onRequest' })).response.body as Record<string, string>;
    expect(body.user).toBe('bob');
    expect(body.refused).toMatch(/IndirectCollectionAccessDisallowed/);
  });

  it('a duplicate _id reaches the callback as an error the hook can answer with', async () => {
    const code = `function onRequest(req, res, m) {
      var c = m.collectionAccess.collection('books');
      c.insert({ _id: 'same' }, function () { c.insert({ _id: 'same' }, function (err) { res.body = { message: err && err.message }; res.complete(409); }); });
    }`;
    const outcome = await h.run(code, { functionName: 'onRequest' });
    expect(outcome.response).toMatchObject({
      status: 409,
      body: { message: expect.stringMatching(/EntityAlreadyExists/) },
    });
  });
});

describe('the first call of an app', () => {
  const NOOP = 'function onPreSave(request, response) { response.continue(); }';

  // Creating an isolate (bootstrap, lodash, moment, async) takes longer than 50 ms, more on a
  // loaded machine: that is kinbase's start-up work, not the hook's time.
  it('is not charged for creating its isolate: a no-op hook succeeds under a 50 ms limit', async () => {
    const h = await harness('embedded', { timeoutMs: 50 });
    try {
      await expect(h.run(NOOP)).resolves.toMatchObject({ continue: true });
    } finally {
      await h.close();
    }
  });

  it('finds a warm isolate after warm(), and warm() never rejects', async () => {
    const h = await harness('embedded', { timeoutMs: 50, isolatesPerApp: 1 });
    try {
      await h.sandbox.warm(h.t.appKey);
      await expect(h.run(NOOP)).resolves.toMatchObject({ continue: true });
      await h.sandbox.close();
      await expect(h.sandbox.warm(h.t.appKey)).resolves.toBeUndefined();
    } finally {
      await h.close();
    }
  });
});
