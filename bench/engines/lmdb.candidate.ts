/**
 * lmdb (lmdb-js 3.x) laid out for kinbase: one environment (a directory with data.mdb and
 * lock.mdb), two named databases, binary keys, JSON text values (no msgpack, so both engines parse
 * the same JSON). lmdb-js's defaults: async writes batched per event turn (commitDelay 0) and
 * overlappingSync; every commit is still fsync'd. LMDB has no "safe from a process crash but not
 * fsync'd" commit like SQLite's WAL + synchronous=NORMAL except the environment flag noSync, whose
 * documented cost is that a system crash can corrupt the database; the 'process' mode measures
 * it in a second environment opened with noSync (in `dir/nosync`).
 * - docs: `collection \0 id` -> JSON text
 * - idx:  `collection \0 field \0 key bytes \0 id` -> id
 */
import path from 'node:path';
import { open } from 'lmdb';
import type { Candidate } from './candidate';
import { INDEXED_FIELDS, indexedValue, orderedKey, type BenchDoc, type IndexedField } from './workload';

const NUL = Buffer.from([0]);
const ONE = Buffer.from([1]);
const text = (s: string) => Buffer.from(s, 'utf8');

type Environment = ReturnType<typeof openEnvironment>;

function openEnvironment(dir: string, noSync: boolean) {
  const root = open({ path: dir, compression: false, noSync });
  const docs = root.openDB<string, Buffer>({ name: 'docs', encoding: 'string', keyEncoding: 'binary' });
  const idx = root.openDB<string, Buffer>({ name: 'idx', encoding: 'string', keyEncoding: 'binary' });
  return { root, docs, idx };
}

export function openLmdb(dir: string): Candidate {
  const main = openEnvironment(dir, false);
  const { root, docs, idx } = main;
  let unsynced: Environment | undefined;

  const docKey = (collection: string, id: string) => Buffer.concat([text(collection), NUL, text(id)]);
  const fieldPrefix = (collection: string, field: string) => Buffer.concat([text(collection), NUL, text(field), NUL]);
  const fieldEnd = (collection: string, field: string) => Buffer.concat([text(collection), NUL, text(field), ONE]);
  const putRows = (env: Environment, collection: string, doc: BenchDoc, sync: boolean) => {
    const put = sync ? 'putSync' : 'put';
    void env.docs[put](docKey(collection, doc._id), JSON.stringify(doc));
    for (const field of INDEXED_FIELDS) {
      void env.idx[put](
        Buffer.concat([fieldPrefix(collection, field), orderedKey(indexedValue(doc, field)), NUL, text(doc._id)]),
        doc._id,
      );
    }
  };
  const byIds = (collection: string, ids: Iterable<string>) => {
    const out: unknown[] = [];
    for (const id of ids) {
      const body = docs.get(docKey(collection, id));
      if (body !== undefined) out.push(JSON.parse(body));
    }
    return out;
  };

  return {
    name: 'lmdb',
    commits: ['process', 'fsync', 'async'],
    async writeBatch(collection, batch) {
      await root.transaction(() => {
        for (const doc of batch) putRows(main, collection, doc, false);
      });
    },
    async writeOne(collection, doc, commit) {
      switch (commit) {
        case 'fsync':
          // transactionSync's default: commits and flushes to disk before returning.
          root.transactionSync(() => putRows(main, collection, doc, true));
          break;
        case 'async':
          await root.transaction(() => putRows(main, collection, doc, false));
          break;
        case 'process': {
          unsynced ??= openEnvironment(path.join(dir, 'nosync'), true);
          const env = unsynced;
          env.root.transactionSync(() => putRows(env, collection, doc, true));
          break;
        }
      }
    },
    get(collection, id) {
      const body = docs.get(docKey(collection, id));
      return body === undefined ? undefined : (JSON.parse(body) as unknown);
    },
    findEqual(collection, field: IndexedField, key) {
      const start = Buffer.concat([fieldPrefix(collection, field), key, NUL]);
      const end = Buffer.concat([fieldPrefix(collection, field), key, ONE]);
      return byIds(
        collection,
        idx.getRange({ start, end }).map(({ value }) => value),
      );
    },
    findFrom(collection, field: IndexedField, from, limit) {
      const start = Buffer.concat([fieldPrefix(collection, field), from]);
      return byIds(
        collection,
        idx.getRange({ start, end: fieldEnd(collection, field), limit }).map(({ value }) => value),
      );
    },
    scan(collection) {
      let count = 0;
      for (const { value } of docs.getRange({
        start: Buffer.concat([text(collection), NUL]),
        end: Buffer.concat([text(collection), ONE]),
      })) {
        JSON.parse(value);
        count++;
      }
      return count;
    },
    async settle() {
      await root.flushed;
    },
    async close() {
      await Promise.all([root.close(), unsynced?.root.close()]);
    },
  };
}
