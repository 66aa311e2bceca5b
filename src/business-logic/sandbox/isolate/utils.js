// @ts-check
/**
 * Pure helpers of the isolate side (`modules.utils`, `modules.kinvey`, `modules.validation`);
 * no host calls. See bootstrap.js for how the isolate files are joined.
 */
/* exported newLocalId, base64, renderTemplate, makeKinvey, doValidation */
function newLocalId() {
  var hex = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  while (hex.length < 24) hex += Math.floor(Math.random() * 16).toString(16);
  return hex;
}

var BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// UTF-8 text <-> base64, without Buffer or btoa (neither exists in a bare V8 isolate).
var base64 = {
  encode: /** @param {unknown} text */ function (text) {
    var bytes = unescape(encodeURIComponent(String(text)));
    var out = '';
    for (var i = 0; i < bytes.length; i += 3) {
      var a = bytes.charCodeAt(i),
        b = bytes.charCodeAt(i + 1),
        c = bytes.charCodeAt(i + 2);
      var n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63];
      out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=';
      out += i + 2 < bytes.length ? BASE64[n & 63] : '=';
    }
    return out;
  },
  decode: /** @param {unknown} encoded */ function (encoded) {
    var clean = String(encoded).replace(/[^A-Za-z0-9+/]/g, '');
    var bytes = '';
    for (var i = 0; i < clean.length; i += 4) {
      var n = 0,
        count = 0;
      for (var j = 0; j < 4; j++) {
        var k = i + j < clean.length ? BASE64.indexOf(clean[i + j]) : -1;
        if (k >= 0) count++;
        n = (n << 6) | (k >= 0 ? k : 0);
      }
      bytes += String.fromCharCode((n >> 16) & 255);
      if (count > 2) bytes += String.fromCharCode((n >> 8) & 255);
      if (count > 3) bytes += String.fromCharCode(n & 255);
    }
    return decodeURIComponent(escape(bytes));
  },
};

/**
 * The value at a dotted path of `data` (own properties only), '' when absent.
 * @param {unknown} data
 * @param {string} path
 * @returns {any}
 */
function lookup(data, path) {
  /** @type {any} */
  var value = data;
  var parts = path.split('.');
  for (var i = 0; i < parts.length; i++) {
    if (value === null || value === undefined || !Object.prototype.hasOwnProperty.call(Object(value), parts[i]))
      return '';
    value = value[parts[i]];
  }
  return value === null || value === undefined ? '' : value;
}
/** @param {unknown} text */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (ch) {
    return /** @type {Record<string, string>} */ ({
      '&': '&amp;',
      '<': '&lt;',
      '>': '&gt;',
      '"': '&quot;',
      "'": '&#39;',
    })[ch];
  });
}
// Mustache-style substitution only ({{name}} escaped, {{{name}}} raw, dotted paths): no sections,
// no partials, and nothing in a template is ever evaluated as code.
/**
 * @param {unknown} template
 * @param {unknown} data
 */
function renderTemplate(template, data) {
  return String(template).replace(
    /\{\{\{\s*([\w.$-]+)\s*\}\}\}|\{\{\s*([\w.$-]+)\s*\}\}/g,
    /** @param {string} _ @param {string | undefined} raw @param {string} escaped */ function (_, raw, escaped) {
      return raw !== undefined ? String(lookup(data, raw)) : escapeHtml(lookup(data, escaped));
    },
  );
}

/**
 * `modules.kinvey` (entity, isKinveyEntity, acl); entities are whatever the hook passes.
 * @param {HookRequest} request
 */
function makeKinvey(request) {
  function creatorOf() {
    return request.userId || request.username;
  }
  /** @param {any} entity */
  function aclOf(entity) {
    if (!entity._acl || typeof entity._acl !== 'object') entity._acl = {};
    return entity._acl;
  }
  /** @param {any} entity @param {string} field @returns {unknown[]} */
  function listOf(entity, field) {
    var acl = aclOf(entity);
    if (!Array.isArray(acl[field])) acl[field] = [];
    return acl[field];
  }
  /** @param {string} field */
  function adder(field) {
    return /** @param {any} entity @param {unknown} id */ function (entity, id) {
      var l = listOf(entity, field);
      if (l.indexOf(id) < 0) l.push(id);
      return entity;
    };
  }
  /** @param {string} field */
  function remover(field) {
    return /** @param {any} entity @param {unknown} id */ function (entity, id) {
      var l = listOf(entity, field);
      var i = l.indexOf(id);
      if (i >= 0) l.splice(i, 1);
      return entity;
    };
  }
  /** @param {string} field */
  function getter(field) {
    return /** @param {any} entity */ function (entity) {
      return listOf(entity, field).slice();
    };
  }
  var acl = {
    getCreator: /** @param {any} entity */ function (entity) {
      return aclOf(entity).creator;
    },
    setCreator: /** @param {any} entity @param {unknown} id */ function (entity, id) {
      aclOf(entity).creator = id;
      return entity;
    },
    getReaders: getter('r'),
    addReader: adder('r'),
    removeReader: remover('r'),
    getWriters: getter('w'),
    addWriter: adder('w'),
    removeWriter: remover('w'),
    getReaderGroups: /** @param {any} entity */ function (entity) {
      var g = aclOf(entity).groups;
      return g && Array.isArray(g.r) ? g.r.slice() : [];
    },
    getWriterGroups: /** @param {any} entity */ function (entity) {
      var g = aclOf(entity).groups;
      return g && Array.isArray(g.w) ? g.w.slice() : [];
    },
    getGloballyReadable: /** @param {any} entity */ function (entity) {
      return aclOf(entity).gr === true;
    },
    setGloballyReadable: /** @param {any} entity @param {unknown} value */ function (entity, value) {
      aclOf(entity).gr = value === true;
      return entity;
    },
    getGloballyWritable: /** @param {any} entity */ function (entity) {
      return aclOf(entity).gw === true;
    },
    setGloballyWritable: /** @param {any} entity @param {unknown} value */ function (entity, value) {
      aclOf(entity).gw = value === true;
      return entity;
    },
  };
  return {
    entity: /** @param {any} object */ function (object) {
      var entity = object !== null && typeof object === 'object' ? object : {};
      var now = new Date().toISOString();
      if (!entity._acl || typeof entity._acl !== 'object') entity._acl = { creator: creatorOf() };
      else if (entity._acl.creator === undefined) entity._acl.creator = creatorOf();
      if (!entity._kmd || typeof entity._kmd !== 'object') entity._kmd = { lmt: now, ect: now };
      return entity;
    },
    isKinveyEntity: /** @param {any} object */ function (object) {
      return (
        object !== null &&
        typeof object === 'object' &&
        !!object._acl &&
        typeof object._acl === 'object' &&
        !!object._kmd &&
        typeof object._kmd === 'object'
      );
    },
    acl: acl,
  };
}

// validation.doValidation({field: {required, min, max, minLength, maxLength, pattern}}, data):
// the list of failures as [{attr, valid: false, msg}], empty when everything holds.
/**
 * @param {any} spec
 * @param {any} data
 * @returns {{ attr: string, valid: false, msg: string }[]}
 */
function doValidation(spec, data) {
  /** @type {{ attr: string, valid: false, msg: string }[]} */
  var failures = [];
  var object = data !== null && typeof data === 'object' ? data : {};
  Object.keys(spec || {}).forEach(function (attr) {
    var rules = spec[attr] || {};
    var present =
      Object.prototype.hasOwnProperty.call(object, attr) &&
      object[attr] !== null &&
      object[attr] !== undefined &&
      object[attr] !== '';
    var value = object[attr];
    /** @param {string} msg */
    function failed(msg) {
      failures.push({ attr: attr, valid: false, msg: msg });
    }
    if (!present) {
      if (rules.required) failed(attr + ' is required');
      return;
    }
    var measure = typeof value === 'number' ? value : NaN;
    if (rules.min !== undefined && !(measure >= rules.min)) failed(attr + ' must be at least ' + rules.min);
    if (rules.max !== undefined && !(measure <= rules.max)) failed(attr + ' must be at most ' + rules.max);
    var length = typeof value === 'string' || Array.isArray(value) ? value.length : NaN;
    if (rules.minLength !== undefined && !(length >= rules.minLength))
      failed(attr + ' must have at least ' + rules.minLength + ' characters');
    if (rules.maxLength !== undefined && !(length <= rules.maxLength))
      failed(attr + ' must have at most ' + rules.maxLength + ' characters');
    if (rules.pattern !== undefined) {
      var re = rules.pattern instanceof RegExp ? rules.pattern : new RegExp(String(rules.pattern));
      if (typeof value !== 'string' || !re.test(value)) failed(attr + ' does not match ' + String(re));
    }
  });
  return failures;
}
