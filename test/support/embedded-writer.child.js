/**
 * Child process for the embedded store's durability test: inserts documents forever and prints
 * each `_id` on stdout only after the store acknowledged it. The parent kill -9s it mid-stream.
 * Usage: node embedded-writer.child.js <compiled embedded.document-store.js> <data dir>
 */
const [, , modulePath, dir] = process.argv;
const { EmbeddedDocumentStore } = require(modulePath);

// Compact constantly, so the kill also lands during compactions (rewrite + rename of the datafile).
const store = new EmbeddedDocumentStore({ dir, compactionIntervalMs: 25 });
const scope = { appKey: 'app', collection: 'stream' };

(async () => {
  for (let i = 0; ; i += 1) {
    const id = `w${String(i).padStart(7, '0')}`;
    await store.insert(scope, { _id: id, i, payload: 'x'.repeat(200) });
    process.stdout.write(`${id}\n`);
  }
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
