/**
 * Attacks from Business Logic code on the sandbox: escaping to the host realm (process, require,
 * env, files), reaching other apps' data, and exhausting time or memory. Each test names the attack;
 * the expected outcome is a 550 for that call only, with the server, other calls and other apps
 * unharmed.
 */
import ivm from 'isolated-vm';
import pino from 'pino';
import request from 'supertest';
import { Writable } from 'node:stream';
import { Sandbox } from '../../src/business-logic/sandbox/sandbox';
import { CollectionAccess } from '../../src/business-logic/sandbox/collection-access';
import { HostCall, MAX_LOG_MESSAGE, MAX_LOGS_PER_CALL } from '../../src/business-logic/sandbox/modules-host';
import type { BlInvocation, BlOutcome } from '../../src/business-logic/types';
import { startTestApp, type TestApp } from '../support/test-app';

const NOOP = 'function onPreSave(req, res) { res.body = { ok: true }; res.complete(200); }';

let t: TestApp;
let sandbox: Sandbox;
let logLines: string[];

function invocation(appKey: string, tempObjectStore: Record<string, unknown> = {}): BlInvocation {
  return {
    appKey,
    caller: 'user:u-alice',
    functionName: 'onPreSave',
    stage: 'pre',
    request: {
      method: 'POST',
      headers: {},
      body: { title: 'x' },
      params: {},
      username: 'alice',
      userId: 'u-alice',
      appKey,
      collectionName: 'books',
    },
    response: { status: 0, headers: {}, body: undefined },
    tempObjectStore,
  };
}

function run(code: string, appKey = t.appKey, tempObjectStore: Record<string, unknown> = {}): Promise<BlOutcome> {
  return sandbox
    .functionFor(appKey, { type: 'internal', code, origin: 'collectionHooks.books.onPreSave' }, [])
    .run(invocation(appKey, tempObjectStore));
}

/** Runs a hook that answers `res.body = <expression>` and returns that body. */
async function probe(expression: string): Promise<unknown> {
  const outcome = await run(
    `function onPreSave(req, res, modules) { res.body = (function () { try { return ${expression}; } catch (e) { return 'threw ' + e.name + ': ' + e.message; } })(); res.complete(200); }`,
  );
  return outcome.response.body;
}

beforeEach(async () => {
  t = await startTestApp();
  logLines = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  sandbox = new Sandbox({
    documents: t.documents,
    logger: pino({ level: 'info' }, sink),
    limits: { timeoutMs: 750, memoryMb: 32, isolatesPerApp: 2 },
  });
  await run(NOOP); // a warm isolate, so the limits below measure hook code, not isolate creation
});

afterEach(async () => {
  await sandbox.close();
  await t.close();
});

describe('escaping to the host realm', () => {
  it.each([
    [
      'this.constructor.constructor("return process")() finds no process',
      'typeof this.constructor.constructor("return process")()',
      /^threw ReferenceError: process is not defined$/,
    ],
    [
      'a bare process reference finds none',
      'typeof process + "/" + typeof globalThis.process',
      /^undefined\/undefined$/,
    ],
    ['reading env through process.env fails', 'process.env.HOME', /^threw ReferenceError/],
    ['require("fs") does not exist', 'require("fs")', /^threw ReferenceError: require is not defined$/],
    [
      'Function("return this")() is the isolate global, without Node globals',
      '["process","require","Buffer","module","global","fetch","__dirname"].filter(function (n) { return n in Function("return this")(); }).join(",")',
      /^$/,
    ],
    [
      'request.constructor.constructor reaches only the isolate Function',
      'typeof req.constructor.constructor("return typeof process")',
      /^threw ReferenceError: req is not defined$|^function$/,
    ],
    [
      'the bridge callback modules.collectionAccess.collection.constructor.constructor gives no process',
      'modules.collectionAccess.collection.constructor.constructor("return process")()',
      /^threw ReferenceError: process is not defined$/,
    ],
    [
      "a collection method's constructor gives no process",
      'modules.collectionAccess.collection("books").find.constructor("return process")()',
      /^threw ReferenceError: process is not defined$/,
    ],
    [
      'setTimeout.constructor gives no process',
      'setTimeout.constructor("return process")()',
      /^threw ReferenceError: process is not defined$/,
    ],
    [
      'Object.getPrototypeOf on the modules walks only isolate objects',
      'Object.getPrototypeOf(modules.utils) === Object.prototype && modules.lodash instanceof Function',
      /^true$/,
    ],
  ])('%s', async (_attack, expression, expected) => {
    expect(String(await probe(expression))).toMatch(expected);
  });

  it('prototype tricks on the passed-in request reach only the isolate realm', async () => {
    const outcome = await run(`function onPreSave(req, res) {
      var F = req.constructor.constructor;
      res.body = { sameRealm: req instanceof Object && F === Function, process: F("return typeof process")(), proto: Object.getPrototypeOf(req.body) === Object.prototype };
      res.complete(200);
    }`);
    expect(outcome.response.body).toEqual({ sameRealm: true, process: 'undefined', proto: true });
  });

  it('import("fs") is refused', async () => {
    const outcome = await run(
      'function onPreSave(req, res) { import("fs").then(function () { res.complete(500); }, function (e) { res.body = String(e); res.complete(200); }); }',
    );
    expect(outcome.response).toEqual({ status: 200, headers: {}, body: 'Error: Not supported' });
  });

  it("globalThis holds nothing beyond a bare V8 context but the sandbox's timers, console and libraries", async () => {
    const bare = new ivm.Isolate({ memoryLimit: 8 });
    const context = await bare.createContext();
    const bareNames = new Set(
      JSON.parse(await context.eval('JSON.stringify(Object.getOwnPropertyNames(globalThis))')) as string[],
    );
    bare.dispose();
    const names = (await probe('Object.getOwnPropertyNames(globalThis)')) as string[];
    expect(names.filter((n) => !bareNames.has(n)).sort()).toEqual(
      [
        '_',
        'async',
        'clearImmediate',
        'clearInterval',
        'clearTimeout',
        'moment',
        'queueMicrotask',
        'setImmediate',
        'setInterval',
        'setTimeout',
      ].sort(),
    );
  });

  it('a hook changing request.appKey or username does not change who the outcome is for', async () => {
    const outcome = await run(
      'function onPreSave(req, res) { req.appKey = "other"; req.username = "admin"; req.userId = "root"; req.body.x = 1; res.continue(); }',
    );
    expect(outcome.request).toMatchObject({
      appKey: t.appKey,
      username: 'alice',
      userId: 'u-alice',
      body: { title: 'x', x: 1 },
    });
  });

  it('a tempObjectStore key "__proto__" does not pollute the host object', async () => {
    const temp: Record<string, unknown> = {};
    await run(
      'function onPreSave(req, res, m) { m.tempObjectStore.set("__proto__", { polluted: true }); m.tempObjectStore.set("ok", 1); res.continue(); }',
      t.appKey,
      temp,
    );
    expect(Object.getPrototypeOf(temp)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(temp).toEqual({ ok: 1 });
  });
});

describe("reaching data that is not the app's", () => {
  it("collectionAccess of one app never sees another app's documents of the same collection name", async () => {
    await t.documents.insert({ appKey: 'another-app', collection: 'books' }, { _id: 'secret', title: 'not yours' });
    await t.documents.insert({ appKey: t.appKey, collection: 'books' }, { _id: 'mine', title: 'yours' });
    const outcome = await run(
      'function onPreSave(req, res, m) { m.collectionAccess.collection("books").find({}, function (err, docs) { res.body = docs.map(function (d) { return d._id; }); res.complete(200); }); }',
    );
    expect(outcome.response.body).toEqual(['mine']);
  });

  it.each(['../another-app/books', 'another-app.books', '_credential', 'system.users', ''])(
    'collection name %j is refused',
    async (name) => {
      const outcome = await run(
        `function onPreSave(req, res, m) { m.collectionAccess.collection(${JSON.stringify(name)}).find({}, function (err) { res.body = err ? err.message : 'read'; res.complete(200); }); }`,
      );
      expect(outcome.response.body).not.toBe('read');
    },
  );

  it.each([
    ['$where in a find', 'find({ $where: "sleep(1000) || true" }', /\$where is not allowed/],
    ['$function in a find', 'find({ a: { $function: { body: "return 1" } } }', /\$function is not allowed/],
    [
      'an update path through __proto__',
      'update({}, { $set: { "__proto__.polluted": true } }, { multi: true }',
      /not allowed/,
    ],
    ['an inserted body with a $-field', 'insert({ $where: 1 }', /not allowed/],
  ])('%s is refused', async (_attack, call, expected) => {
    await t.documents.insert({ appKey: t.appKey, collection: 'books' }, { _id: 'b1' });
    const outcome = await run(
      `function onPreSave(req, res, m) { m.collectionAccess.collection("books").${call}, function (err) { res.body = err ? err.message : 'accepted'; res.complete(200); }); }`,
    );
    expect(String(outcome.response.body)).toMatch(expected);
  });
});

describe('credentials in the request', () => {
  it('a hook that logs its whole request writes no credentials into the log, and its outcome keeps them for the rest of the pipeline', async () => {
    const headers = {
      authorization: 'Kinvey session-token-of-alice',
      'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
      cookie: 'sid=cookie-secret',
      'x-kinvey-api-version': '5',
    };
    const outcome = await sandbox
      .functionFor(
        t.appKey,
        {
          type: 'internal',
          origin: 'collectionHooks.books.onPreSave',
          code: `function onPreSave(req, res, m) {
      m.logger.info(JSON.stringify(req));
      res.body = { seen: Object.keys(req.headers).sort(), auth: req.headers.Authorization === undefined && req.headers.authorization === undefined };
      req.headers.authorization = 'Kinvey forged-by-hook';
      res.continue();
    }`,
        },
        [],
      )
      .run({ ...invocation(t.appKey), request: { ...invocation(t.appKey).request, headers } });
    expect(outcome.response.body).toEqual({ seen: ['x-kinvey-api-version'], auth: true });
    const log = logLines.join('\n');
    expect(log).toContain('x-kinvey-api-version');
    for (const secret of ['session-token-of-alice', 'cHJveHk6c2VjcmV0', 'cookie-secret'])
      expect(log).not.toContain(secret);
    // What a Flex hook after this one gets: the client's own credentials, not the hook's.
    expect(outcome.request.headers).toEqual(headers);
  });
});

describe('exhausting time and memory', () => {
  it('an infinite loop is a BLTimeoutError, and the next call of the app works', async () => {
    await expect(run('function onPreSave() { while (true) {} }')).rejects.toMatchObject({
      status: 550,
      error: 'BLTimeoutError',
    });
    await expect(run(NOOP)).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('an infinite loop does not block the main event loop: timers and HTTP requests progress meanwhile', async () => {
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
    }, 5);
    let ticksWhenSettled = -1;
    const looping = run('function onPreSave() { while (true) {} }').finally(() => {
      ticksWhenSettled = ticks;
    });
    looping.catch(() => undefined);
    const http = await request(t.app).get(`/appdata/${t.appKey}`).set('Authorization', t.appAuth);
    const settledWhenHttpAnswered = ticksWhenSettled >= 0;
    await expect(looping).rejects.toMatchObject({ error: 'BLTimeoutError' });
    clearInterval(interval);
    expect(http.status).toBe(200);
    expect(settledWhenHttpAnswered).toBe(false);
    // The interval kept firing while the hook looped: a main thread blocked by it could fire at most once.
    expect(ticksWhenSettled).toBeGreaterThan(5);
  });

  it('a loop on one app fails only its call: a concurrent call of another app succeeds', async () => {
    const other = 'kid_other_app';
    const [looped, normal] = await Promise.allSettled([
      run('function onPreSave() { while (true) {} }'),
      run(NOOP, other),
    ]);
    expect(looped).toMatchObject({ status: 'rejected', reason: { error: 'BLTimeoutError' } });
    expect(normal).toMatchObject({ status: 'fulfilled', value: { response: { status: 200 } } });
  });

  it("an infinite loop in the script's top-level code is a BLTimeoutError", async () => {
    await expect(run('while (true) {}\nfunction onPreSave(req, res) { res.continue(); }')).rejects.toMatchObject({
      status: 550,
      error: 'BLTimeoutError',
    });
    await expect(run(NOOP)).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('an infinite loop inside a collectionAccess callback (after the hook returned) is a BLTimeoutError', async () => {
    await expect(
      run(
        'function onPreSave(req, res, m) { m.collectionAccess.collection("books").count({}, function () { while (true) {} }); }',
      ),
    ).rejects.toMatchObject({ status: 550, error: 'BLTimeoutError' });
    await expect(run(NOOP)).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('a hook that never calls continue or complete is a BLTimeoutError', async () => {
    await expect(run('function onPreSave(req, res) { setTimeout(function () {}, 10); }')).rejects.toMatchObject({
      status: 550,
      error: 'BLTimeoutError',
      debug: expect.stringContaining('did not call response.continue()'),
    });
  });

  it("the host answers a timer due after the call's deadline as not fired, and a timer due before it as fired", async () => {
    const hostCall = (msLeft: number) =>
      new HostCall({
        id: 1,
        logger: pino({ level: 'silent' }),
        collections: new CollectionAccess(t.documents, t.appKey),
        deadline: Date.now() + msLeft,
        origin: 'timers',
      });
    const short = hostCall(40);
    await expect(short.handle('sleep', '60000')).resolves.toBe('{"ok":false}'); // it used to answer true at the deadline
    await expect(short.handle('sleep', '1')).resolves.toBe('{"ok":false}'); // past the deadline nothing is due
    short.end();
    const roomy = hostCall(60_000);
    await expect(roomy.handle('sleep', '5')).resolves.toBe('{"ok":true}');
    const pending = roomy.handle('sleep', '30000');
    roomy.end(); // the call ended: its timers resolve as not fired
    await expect(pending).resolves.toBe('{"ok":false}');
  });

  it("a timer due after the call's time limit never fires, even when it is set with almost no time left", async () => {
    // It used to fire at the deadline, as if its time had passed, and the call often completed.
    const late =
      'function onPreSave(req, res) { while (Date.now() < req.body.until) {} setTimeout(function () { res.complete(200); }, 60000); }';
    for (const left of [8, 1, 0]) {
      const outcome = await sandbox
        .functionFor(t.appKey, { type: 'internal', code: late, origin: 'late' }, [])
        .run({
          ...invocation(t.appKey),
          request: { ...invocation(t.appKey).request, body: { until: Date.now() + 750 - left } },
        })
        .then(
          () => 'completed',
          (err: { error?: string }) => err.error,
        );
      expect({ left, outcome }).toEqual({ left, outcome: 'BLTimeoutError' });
    }
    await expect(run(NOOP)).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('a flood of slow calls queues behind the pool, and a call that waited still gets its whole time limit', async () => {
    const small = new Sandbox({
      documents: t.documents,
      logger: pino({ level: 'silent' }),
      limits: { timeoutMs: 750, isolatesPerApp: 1 },
    });
    try {
      // Each call needs 400 ms: the second waits about 400 ms for the isolate, then runs its 400 ms
      // within its own 750 (the time limit is the function's, not the queue's).
      const slow = small.functionFor(
        t.appKey,
        {
          type: 'internal',
          code: 'function onPreSave(req, res) { setTimeout(function () { res.complete(200); }, 400); }',
          origin: 'slow',
        },
        [],
      );
      const results = await Promise.allSettled([1, 2].map(() => slow.run(invocation(t.appKey))));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    } finally {
      await small.close();
    }
  });

  it("a flood of one caller's calls is bounded: calls past its queue are refused at once, and a wait past the limit is a BLTimeoutError", async () => {
    const small = new Sandbox({
      documents: t.documents,
      logger: pino({ level: 'silent' }),
      limits: { timeoutMs: 10_000, isolatesPerApp: 1, waitMs: 100, queuePerCaller: 2 },
    });
    try {
      // Holds the isolate until the test stores its gate.
      const held = small.functionFor(
        t.appKey,
        {
          type: 'internal',
          origin: 'held',
          code: `function onPreSave(req, res, m) {
        (function wait() { m.collectionAccess.collection('gates').findOne({ _id: 'open' }).then(function (g) { if (g) res.complete(200); else setTimeout(wait, 5); }); })();
      }`,
        },
        [],
      );
      const first = held.run(invocation(t.appKey));
      const queued = [1, 2, 3].map(() =>
        held.run(invocation(t.appKey)).then(
          () => 'completed',
          (err: { error?: string; debug?: string }) => `${err.error}: ${err.debug}`,
        ),
      );
      // The third waiting call is refused without waiting; the other two wait out their 100 ms.
      expect(await queued[2]).toMatch(
        /^BLTimeoutError: held was refused: 2 calls of the same caller are already waiting/,
      );
      expect(await Promise.all(queued.slice(0, 2))).toEqual(
        Array(2).fill('BLTimeoutError: held waited 100 ms for a free sandbox.'),
      );
      await t.documents.insert({ appKey: t.appKey, collection: 'gates' }, { _id: 'open' });
      await expect(first).resolves.toMatchObject({ response: { status: 200 } });
      expect(small.stats(t.appKey)).toEqual({ held: {}, waiting: {} });
    } finally {
      await small.close();
    }
  });

  it('while(true) arr.push(new Array(1e6)) is a BLViolationError, the process survives and the next call works', async () => {
    await expect(
      run('function onPreSave() { var arr = []; while (true) arr.push(new Array(1e6).fill(1)); }'),
    ).rejects.toMatchObject({
      status: 550,
      error: 'BLViolationError',
      debug: expect.stringContaining('memory limit'),
    });
    await expect(run(NOOP)).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('exhausting memory after an await is a BLViolationError too', async () => {
    await expect(
      run(
        'async function onPreSave() { await new Promise(function (r) { setTimeout(r, 1); }); var arr = []; while (true) arr.push(new Array(1e6).fill(1)); }',
      ),
    ).rejects.toMatchObject({ error: 'BLViolationError' });
  });

  it('timers of a finished call never run: nothing of it touches the store afterwards', async () => {
    await run(`function onPreSave(req, res, m) {
      setInterval(function () { m.collectionAccess.collection('ticks').insert({}); }, 1);
      setTimeout(function () { res.continue(); }, 30);
    }`);
    const scope = { appKey: t.appKey, collection: 'ticks' };
    const atEnd = await t.documents.count(scope, {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await t.documents.count(scope, {})).toBe(atEnd);
  });
});

describe('failing code', () => {
  it('a throw is a BLRuntimeError with the message and the line of the function in debug', async () => {
    await expect(run('function onPreSave() {\n  throw new TypeError("no title");\n}')).rejects.toMatchObject({
      status: 550,
      error: 'BLRuntimeError',
      debug: 'collectionHooks.books.onPreSave: TypeError: no title (line 2)',
    });
  });

  it('a throw inside a collectionAccess callback is a BLRuntimeError', async () => {
    await expect(
      run(
        'function onPreSave(req, res, m) { m.collectionAccess.collection("books").count({}, function () { throw new Error("in callback"); }); }',
      ),
    ).rejects.toMatchObject({ error: 'BLRuntimeError', debug: expect.stringContaining('in callback') });
  });

  it('a syntax error is a BLSyntaxError naming the origin', async () => {
    await expect(run('function onPreSave(req, res) { res.continue( }')).rejects.toMatchObject({
      status: 550,
      error: 'BLSyntaxError',
      debug: expect.stringContaining('collectionHooks.books.onPreSave does not compile: SyntaxError'),
    });
  });

  it('a huge log message and a flood of messages are bounded', async () => {
    await run(
      'function onPreSave(req, res, m) { m.logger.info("x".repeat(5e6)); for (var i = 0; i < 5000; i++) console.log("line", i); res.continue(); }',
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const messages = logLines.map((line) => JSON.parse(line) as { msg: string; appKey?: string; origin?: string });
    expect(messages.length).toBeLessThanOrEqual(MAX_LOGS_PER_CALL + 1);
    expect(Math.max(...messages.map((m) => m.msg.length))).toBeLessThanOrEqual(MAX_LOG_MESSAGE + 100);
    expect(messages[0]).toMatchObject({ appKey: t.appKey, origin: 'collectionHooks.books.onPreSave' });
  });
});
