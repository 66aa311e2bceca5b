// @ts-check
/**
 * The isolate side of Kinvey's `modules` argument (see bootstrap.js for how the isolate files are
 * joined). Host-backed modules (collectionAccess, logger) go through bootstrap.js's `ask`; the
 * rest are pure JavaScript inside the isolate.
 */
/* global global, current, ask, fail, log, newLocalId, base64, renderTemplate, makeKinvey, doValidation */
/* exported attachLibraries, makeModules */
/** @type {{ lodash: unknown, moment: unknown, async: unknown }} */
var libraries = { lodash: undefined, moment: undefined, async: undefined };
var SUPPORTED = [
  'collectionAccess',
  'logger',
  'requestContext',
  'tempObjectStore',
  'utils',
  'kinvey',
  'validation',
  'moment',
  'lodash',
  'async',
];

function attachLibraries() {
  libraries.lodash = global._;
  libraries.moment = global.moment;
  libraries.async = global.async;
  return (
    typeof libraries.lodash === 'function' &&
    typeof libraries.moment === 'function' &&
    typeof libraries.async === 'object'
  );
}

/**
 * `modules.collectionAccess.collection(name)`: every method is a host request.
 * @param {Call} call
 * @param {string} name
 */
function makeCollection(call, name) {
  // Mongo driver 1.x style: the callback is the last argument, options are optional. Without a
  // callback the method returns a promise instead (a kinbase convenience).
  /**
   * @param {string} method
   * @param {unknown[]} args
   * @param {any} cb the hook's callback, if it passed a function
   */
  function op(method, args, cb) {
    var answer = ask(call, 'collection', { collection: name, method: method, args: args });
    if (typeof cb !== 'function') return answer;
    answer.then(
      function (result) {
        if (call.ended) return;
        try {
          cb(null, result);
        } catch (e) {
          fail(call, e);
        }
      },
      function (err) {
        if (call.ended) return;
        try {
          cb(err);
        } catch (e) {
          fail(call, e);
        }
      },
    );
    return undefined;
  }
  /** @param {string} method */
  function withOptions(method) {
    return /** @param {any} query @param {any} [options] @param {any} [cb] */ function (query, options, cb) {
      if (typeof query === 'function') {
        cb = query;
        query = {};
        options = {};
      }
      if (typeof options === 'function') {
        cb = options;
        options = {};
      }
      return op(method, [query === undefined ? {} : query, options || {}], cb);
    };
  }
  return {
    collectionName: name,
    find: withOptions('find'),
    findOne: withOptions('findOne'),
    count: withOptions('count'),
    remove: withOptions('remove'),
    insert: withOptions('insert'),
    save: withOptions('save'),
    update: /** @param {any} query @param {any} update @param {any} [options] @param {any} [cb] */ function (
      query,
      update,
      options,
      cb,
    ) {
      if (typeof options === 'function') {
        cb = options;
        options = {};
      }
      return op('update', [query === undefined ? {} : query, update, options || {}], cb);
    },
  };
}

/** @param {Call} call */
function makeLogger(call) {
  /** @param {string} level */
  function at(level) {
    return function () {
      if (call === current) log(level, arguments);
    };
  }
  return { info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') };
}

/** @param {string} text */
function parseVersion(text) {
  var m = /^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  /** @param {number} i */
  function part(i) {
    return m && m[i] !== undefined ? Number(m[i]) : null;
  }
  return { major: part(1), minor: part(2), patch: part(3) };
}

/** @param {HookRequest} request */
function makeRequestContext(request) {
  var headers = request.headers || (request.headers = {});
  /** @type {Record<string, unknown>} */
  var props = Object.create(null);
  try {
    var parsed = JSON.parse(headers['x-kinvey-custom-request-properties'] || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(props, parsed);
  } catch (_) {
    /* an unparsable header reads as no properties */
  }
  var version =
    typeof headers['x-kinvey-client-app-version'] === 'string' ? headers['x-kinvey-client-app-version'] : '';
  var parts = parseVersion(version);
  return {
    getAuthenticatedUsername: function () {
      return request.username;
    },
    getAuthenticatedUserId: function () {
      return request.userId;
    },
    getCustomRequestProperty: /** @param {string} name */ function (name) {
      return Object.prototype.hasOwnProperty.call(props, name) ? props[name] : undefined;
    },
    // Written back into the request's header, so the functions after this one see the property.
    setCustomRequestProperty: /** @param {unknown} name @param {unknown} value */ function (name, value) {
      props[String(name)] = value;
      headers['x-kinvey-custom-request-properties'] = JSON.stringify(props);
    },
    getCustomRequestProperties: function () {
      return Object.assign({}, props);
    },
    clientAppVersion: {
      stringValue: function () {
        return version || null;
      },
      majorVersion: function () {
        return parts.major;
      },
      minorVersion: function () {
        return parts.minor;
      },
      patchVersion: function () {
        return parts.patch;
      },
    },
  };
}

/** @param {Record<string, unknown>} temp */
function makeTempObjectStore(temp) {
  return {
    set: /** @param {unknown} key @param {unknown} value */ function (key, value) {
      temp[String(key)] = value;
    },
    get: /** @param {string} key */ function (key) {
      return Object.prototype.hasOwnProperty.call(temp, key) ? temp[key] : undefined;
    },
    getAll: function () {
      return temp;
    },
  };
}

/**
 * The `modules` argument of a hook: a Proxy that names a module kinbase lacks instead of
 * answering undefined.
 * @param {Call} call
 * @param {HookRequest} request
 * @param {Record<string, unknown>} temp
 */
function makeModules(call, request, temp) {
  var kinvey = makeKinvey(request);
  var tempObjectStore = makeTempObjectStore(temp);
  var target = {
    collectionAccess: {
      collection: /** @param {unknown} name */ function (name) {
        return makeCollection(call, String(name));
      },
      // kinbase stores every _id as a string: objectID is the identity on strings.
      objectID: /** @param {unknown} [id] */ function (id) {
        return id === undefined ? newLocalId() : String(id);
      },
    },
    logger: makeLogger(call),
    requestContext: makeRequestContext(request),
    tempObjectStore: tempObjectStore,
    utils: {
      base64: base64,
      renderTemplate: renderTemplate,
      kinveyEntity: kinvey.entity,
      tempObjectStore: tempObjectStore,
    },
    kinvey: kinvey,
    validation: { doValidation: doValidation },
    moment: libraries.moment,
    lodash: libraries.lodash,
    async: libraries.async,
  };
  // A module Kinvey had but kinbase lacks (push, email, backendContext, ...) fails loudly and by
  // name instead of reading as undefined and failing later with a puzzling TypeError.
  return new Proxy(target, {
    get: function (t, prop, receiver) {
      if (typeof prop === 'symbol' || prop in t || prop === 'then' || prop === 'toJSON')
        return Reflect.get(t, prop, receiver);
      throw new Error('modules.' + prop + ' is not provided by kinbase (it provides ' + SUPPORTED.join(', ') + ').');
    },
  });
}
