// @ts-check
/**
 * The isolate side of the sandbox: the first of the three files (bootstrap.js, modules.js,
 * utils.js) that isolate-template.ts joins, in that order, into the body of one function of the
 * two host bridge callbacks, `(function (hostCall, hostNotify) { ...; return entryPoints(); })`.
 * It runs inside a V8 isolate with no Node APIs and no module system, so the files are plain
 * scripts sharing that one function scope: nothing they declare is a global of the isolate, and
 * hook code cannot reach it. What a file takes from the others is listed in its global comment.
 *
 * - `hostCall(callId, requestId, op, jsonText)`: posts a request (collectionAccess, logger,
 *   timers) and returns nothing; the host answers by calling `reply`. Both bridge callbacks are
 *   isolated-vm Callbacks, plain functions inside the isolate, and everything crossing is a
 *   string, so no object of the host realm is ever reachable from hook code.
 * - `hostNotify(callId, outcomeText)`: ends a call that finished asynchronously.
 *
 * Type-checked by src/business-logic/sandbox/isolate/tsconfig.json (host.d.ts declares the
 * bridge and the types the files share); linted as scripts (eslint.config.mjs).
 */
/* global hostCall, hostNotify, makeModules, attachLibraries */
/* exported ask, fail, log, current, global, entryPoints */
'use strict';
var global = globalThis;
/** The hooks object each function script's factory returned, by script key. @type {Record<string, Record<string, unknown>>} */
var defined = Object.create(null);
/** The call running now (one at a time per isolate). @type {Call | null} */
var current = null;
var nextTimerId = 1;
var LOG_LIMIT = 8192;
function noop() {}

/**
 * A thrown value as plain, bounded JSON-safe fields; never throws itself.
 * @param {any} e
 * @returns {ErrorInfo}
 */
function describe(e) {
  try {
    if (e !== null && typeof e === 'object') {
      var name = typeof e.name === 'string' ? e.name : 'Error';
      var message = typeof e.message === 'string' ? e.message : String(e);
      var stack = typeof e.stack === 'string' ? e.stack : '';
      return { name: name, message: message.slice(0, LOG_LIMIT), stack: stack.slice(0, LOG_LIMIT) };
    }
    return { name: 'Error', message: String(e).slice(0, LOG_LIMIT), stack: '' };
  } catch (_) {
    return { name: 'Error', message: '(an unprintable value was thrown)', stack: '' };
  }
}

/**
 * One run of a hook function.
 * @constructor
 * @param {number} id the host's call id
 */
function Call(id) {
  this.id = id;
  this.ended = false;
  this.async = false;
  /** The outcome as JSON when the call ended before `run` returned. @type {string | null} */
  this.result = null;
  /** Live timer ids. @type {Record<number, boolean>} */
  this.timers = Object.create(null);
  /** Host requests waiting for `reply`, by request id. @type {Record<number, (answer: string) => void>} */
  this.requests = Object.create(null);
  this.nextRequest = 1;
}

// Only the first continue/complete/error (or failure) counts; the outcome is captured as JSON at
// that moment, so later changes to request/response cannot leak into it.
/**
 * @param {Call} call
 * @param {unknown} outcome what the host receives (isolate-worker.ts CallResult)
 */
function finish(call, outcome) {
  if (call.ended) return;
  call.ended = true;
  call.timers = Object.create(null);
  call.requests = Object.create(null);
  /** @type {string} */
  var text;
  try {
    text = JSON.stringify(outcome);
  } catch (e) {
    text = JSON.stringify({
      kind: 'error',
      error: {
        name: 'TypeError',
        message: 'The response or request could not be converted to JSON: ' + describe(e).message,
        stack: '',
      },
    });
  }
  if (call.async) hostNotify(call.id, text);
  else call.result = text;
}

/**
 * @param {Call} call
 * @param {unknown} e
 */
function fail(call, e) {
  finish(call, { kind: 'error', error: describe(e) });
}

// A request to the host: hostCall only posts it; the host answers later through reply(), which it
// calls into the isolate with the time limit still applying to whatever the answer runs.
/**
 * @param {Call} call
 * @param {string} op the host operation (modules-host.ts)
 * @param {unknown} value its argument, sent as JSON
 * @returns {Promise<any>} the host's `ok` answer
 */
function ask(call, op, value) {
  if (call.ended) return Promise.reject(new Error('The Business Logic call already ended.'));
  /** @type {string} */
  var text;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise(
    /** @param {(answer: string) => void} resolve */ function (resolve) {
      var id = call.nextRequest++;
      call.requests[id] = resolve;
      hostCall(call.id, id, op, text);
    },
  ).then(function (answer) {
    var parsed = JSON.parse(answer);
    if (parsed && typeof parsed.error === 'string') throw new Error(parsed.error);
    return parsed ? parsed.ok : undefined;
  });
}

/**
 * The host's answer to request `requestId` of call `callId`; dropped if that call is over.
 * @param {number} callId
 * @param {number} requestId
 * @param {string} answer JSON `{ ok }` or `{ error }`
 */
function reply(callId, requestId, answer) {
  var call = current;
  if (!call || call.id !== callId || call.ended) return;
  var resolve = call.requests[requestId];
  if (resolve === undefined) return;
  delete call.requests[requestId];
  resolve(answer);
}

/**
 * @param {string} level
 * @param {ArrayLike<unknown>} args
 */
function log(level, args) {
  var call = current;
  if (!call || call.ended) return;
  /** @type {string[]} */
  var parts = [];
  for (var i = 0; i < args.length; i++) {
    var a = args[i];
    if (typeof a === 'string') {
      parts.push(a);
      continue;
    }
    /** @type {string | undefined} */
    var s;
    try {
      s = JSON.stringify(a);
    } catch (_) {
      s = undefined;
    }
    if (s === undefined) {
      try {
        s = String(a);
      } catch (_) {
        s = '(unprintable)';
      }
    }
    parts.push(s);
  }
  ask(call, 'log', { level: level, message: parts.join(' ').slice(0, LOG_LIMIT) }).then(noop, noop);
}

// Timers are host timers of the current call: they fire only while that call runs, and the host
// drops them all when it ends, so nothing of one call ever runs inside the next.
/**
 * @param {any} fn checked here: hook code may pass anything
 * @param {unknown} ms
 * @param {unknown[]} args
 * @param {boolean} repeat
 * @returns {number} the timer id (0 outside a call)
 */
function schedule(fn, ms, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The callback must be a function.');
  var call = /** @type {Call} */ (current); // null is refused just below; tick() needs it non-null
  if (!call || call.ended) return 0;
  var id = nextTimerId++;
  call.timers[id] = true;
  var delay = Math.max(0, Number(ms) || 0);
  function tick() {
    ask(call, 'sleep', delay).then(function (fired) {
      if (fired !== true || call.ended || !call.timers[id]) return;
      if (!repeat) delete call.timers[id];
      try {
        fn.apply(undefined, args);
      } catch (e) {
        fail(call, e);
        return;
      }
      if (repeat && !call.ended && call.timers[id]) tick();
    }, noop);
  }
  tick();
  return id;
}
/** @param {number} id */
function cancel(id) {
  var call = current;
  if (call && call.timers) delete call.timers[id];
}
/**
 * Defines a non-enumerable global of the isolate, as the platform's own are.
 * @param {string} name
 * @param {unknown} value
 */
function install(name, value) {
  Object.defineProperty(global, name, { value: value, writable: true, configurable: true, enumerable: false });
}
install(
  'setTimeout',
  /** @param {any} fn @param {unknown} ms */ function (fn, ms) {
    return schedule(fn, ms, Array.prototype.slice.call(arguments, 2), false);
  },
);
install(
  'setInterval',
  /** @param {any} fn @param {unknown} ms */ function (fn, ms) {
    return schedule(fn, ms, Array.prototype.slice.call(arguments, 2), true);
  },
);
install(
  'setImmediate',
  /** @param {any} fn */ function (fn) {
    return schedule(fn, 0, Array.prototype.slice.call(arguments, 1), false);
  },
);
install('clearTimeout', cancel);
install('clearInterval', cancel);
install('clearImmediate', cancel);
install(
  'queueMicrotask',
  /** @param {() => void} fn */ function (fn) {
    Promise.resolve().then(function () {
      fn();
    });
  },
);
install('console', {
  log: function () {
    log('info', arguments);
  },
  info: function () {
    log('info', arguments);
  },
  debug: function () {
    log('debug', arguments);
  },
  warn: function () {
    log('warn', arguments);
  },
  error: function () {
    log('error', arguments);
  },
});

/**
 * The `response` argument of a hook.
 * @param {Call} call
 * @param {Payload['response']} init
 * @param {HookRequest} request
 * @param {Record<string, unknown>} temp
 * @returns {HookResponse}
 */
function makeResponse(call, init, request, temp) {
  /** @type {HookResponse} */
  var response = { status: init.status, headers: init.headers || {}, body: init.body };
  /** @param {boolean} goOn */
  function end(goOn) {
    finish(call, {
      kind: 'done',
      continue: goOn,
      request: { body: request.body, params: request.params, headers: request.headers },
      response: { status: response.status, headers: response.headers, body: response.body },
      tempObjectStore: temp,
    });
  }
  response.continue = function () {
    end(true);
  };
  response.complete = /** @param {unknown} [status] */ function (status) {
    if (call.ended) return;
    if (status !== undefined) response.status = status;
    else if (!response.status) response.status = 200;
    end(false);
  };
  // Kinvey does not document what response.error sends; kinbase answers 400 with a Kinvey-style
  // error body naming BLRuntimeError, the closest of Kinvey's names for "the script refused".
  response.error = /** @param {unknown} message */ function (message) {
    if (call.ended) return;
    response.status = 400;
    response.body = { error: 'BLRuntimeError', description: String(message), debug: '' };
    end(false);
  };
  return response;
}

/** @type {IsolateEntryPoints['define']} */
function define(key, factory) {
  try {
    var hooks = factory();
    defined[key] = hooks;
    return JSON.stringify({ kind: 'defined' });
  } catch (e) {
    return JSON.stringify({ kind: 'error', error: describe(e) });
  }
}

/**
 * Where a hook runs: calls the function `functionName` of script `key` with Kinvey's
 * `(request, response, modules)`. Returns the outcome as JSON if the call ended synchronously,
 * else 'pending' (the outcome follows through hostNotify).
 * @type {IsolateEntryPoints['run']}
 */
function run(callId, key, functionName, payloadText) {
  var hooks = defined[key];
  var fn = hooks ? hooks[functionName] : undefined;
  if (typeof fn !== 'function') return JSON.stringify({ kind: 'undefinedFunction' });
  /** @type {Payload} */
  var payload = JSON.parse(payloadText);
  var call = new Call(callId);
  current = call;
  var temp = Object.assign(Object.create(null), payload.tempObjectStore);
  var request = payload.request;
  var response = makeResponse(call, payload.response, request, temp);
  try {
    var modules = makeModules(call, request, temp);
    var returned = fn.call(undefined, request, response, modules);
    if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
      returned.then(
        noop,
        /** @param {unknown} e */ function (e) {
          fail(call, e);
        },
      );
    }
  } catch (e) {
    fail(call, e);
  }
  if (call.ended) return /** @type {string} */ (call.result); // set by finish() since the call ended synchronously
  call.async = true;
  return 'pending';
}

/**
 * What the host holds of the isolate (isolate-worker.ts): the wrapper returns this.
 * @returns {IsolateEntryPoints}
 */
function entryPoints() {
  return { define: define, run: run, reply: reply, attach: attachLibraries };
}
