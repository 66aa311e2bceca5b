/**
 * A Node platform for kinvey-js-sdk 7 (the core package), written from the SDK's own interfaces
 * (lib/http/http.d.ts HttpAdapter, lib/storage.d.ts StorageAdapter, lib/http/session.js):
 * - HTTP through global fetch; `https://[<instance>-]baas.kinvey.com` and `…auth.kinvey.com`,
 *   which the SDK hard-codes, are rewritten to `apiHostname` / `micHostname`;
 *   JSON and text bodies come back as strings (the SDK parses JSON), anything else as a Buffer,
 *   so file downloads stay byte-identical;
 * - session and offline storage in memory (the SDK needs storage even for Network stores: init
 *   keeps a device id in the `_Device` table).
 *
 * Usage: `const Kinvey = require('./kinvey-js-sdk-node').init({ appKey, appSecret, apiHostname })`;
 * the result is the stock kinvey-js-sdk module (User, DataStore, Files, Query, ping, …).
 */
const os = require('node:os');
const Kinvey = require('kinvey-js-sdk');

const SDK_VERSION = require('kinvey-js-sdk/package.json').version;

/** Rewrites the SDK's fixed Kinvey origins to the configured hosts. */
function rewriteOrigin(url, apiHostname, micHostname) {
  return url
    .replace(/^https:\/\/([a-z0-9-]+-)?baas\.kinvey\.com/i, apiHostname)
    .replace(/^https:\/\/([a-z0-9-]+-)?auth\.kinvey\.com/i, micHostname);
}

function isTextual(contentType) {
  return /json|^text\/|xml|javascript/i.test(contentType);
}

function createHttpAdapter({ apiHostname, micHostname }) {
  return {
    async send({ url, method, headers, body, timeout }) {
      const sent = { ...headers };
      // The official adapters describe the device only to Kinvey's own hosts; test the original URL.
      if (/kinvey\.com/.test(url)) {
        sent['X-Kinvey-Device-Information'] =
          `js-kinvey-node-sdk/${process.version} ${process.execPath} ${process.version} ${process.platform}`;
        sent['X-Kinvey-Device-Info'] = JSON.stringify({
          hv: 1,
          os: os.platform(),
          ov: os.release(),
          sdk: { name: 'kinvey-js-sdk', version: SDK_VERSION },
          pv: process.version,
        });
      }
      let response;
      try {
        response = await fetch(rewriteOrigin(url, apiHostname, micHostname), {
          method,
          headers: sent,
          body: body === undefined || body === null || method === 'GET' || method === 'HEAD' ? undefined : body,
          signal: timeout > 0 ? AbortSignal.timeout(timeout) : undefined,
        });
      } catch (err) {
        if (err && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
          throw new Kinvey.Errors.TimeoutError('The network request timed out.');
        }
        throw new Kinvey.Errors.NetworkError(
          `The network request failed: ${err && err.cause ? err.cause.message : err}`,
        );
      }
      const contentType = response.headers.get('content-type') || '';
      const bytes = Buffer.from(await response.arrayBuffer());
      let data;
      if (bytes.length > 0) data = isTextual(contentType) ? bytes.toString('utf8') : bytes;
      return { statusCode: response.status, headers: Object.fromEntries(response.headers), data };
    },
  };
}

function createSessionStore() {
  const values = new Map();
  return {
    get: async (key) => (values.has(key) ? values.get(key) : null),
    set: async (key, value) => {
      values.set(key, value);
      return true;
    },
    remove: async (key) => values.delete(key),
  };
}

/** In-memory StorageAdapter: dbName -> table -> id -> document (copies in and out). */
function createMemoryStorage() {
  const databases = new Map();
  const tableOf = (dbName, table) => {
    if (!databases.has(dbName)) databases.set(dbName, new Map());
    const db = databases.get(dbName);
    if (!db.has(table)) db.set(table, new Map());
    return db.get(table);
  };
  const copy = (doc) => (doc === undefined ? undefined : JSON.parse(JSON.stringify(doc)));
  return {
    async find(dbName, table) {
      return Array.from(tableOf(dbName, table).values(), copy);
    },
    async count(dbName, table) {
      return tableOf(dbName, table).size;
    },
    async findById(dbName, table, id) {
      return copy(tableOf(dbName, table).get(id));
    },
    async save(dbName, table, docs) {
      const docsTable = tableOf(dbName, table);
      for (const doc of docs) docsTable.set(doc._id, copy(doc));
      return docs;
    },
    async removeById(dbName, table, id) {
      return tableOf(dbName, table).delete(id) ? 1 : 0;
    },
    async removeManyById(dbName, table, ids) {
      const docsTable = tableOf(dbName, table);
      return ids.reduce((removed, id) => removed + (docsTable.delete(id) ? 1 : 0), 0);
    },
    async clear(dbName, table) {
      tableOf(dbName, table).clear();
      return true;
    },
    async clearDatabase(dbName, exclude = []) {
      const db = databases.get(dbName);
      if (db) for (const table of db.keys()) if (!exclude.includes(table)) db.delete(table);
      return true;
    },
  };
}

/**
 * Initialises kinvey-js-sdk for Node and returns it.
 * @param {{appKey: string, appSecret?: string, masterSecret?: string, apiHostname: string,
 *          micHostname?: string, appVersion?: string}} options
 */
function init({ apiHostname, micHostname, ...kinveyConfig }) {
  const api = apiHostname.replace(/\/+$/, '');
  Kinvey.init({
    kinveyConfig,
    httpAdapter: createHttpAdapter({ apiHostname: api, micHostname: (micHostname || api).replace(/\/+$/, '') }),
    sessionStore: createSessionStore(),
    storageAdapter: createMemoryStorage(),
    popup: {
      open() {
        throw new Kinvey.Errors.PopupError('MIC login with a popup is not available in Node.');
      },
    },
  });
  return Kinvey;
}

module.exports = { init, createHttpAdapter, createSessionStore, createMemoryStorage };
