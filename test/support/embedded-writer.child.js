/**
 * Child process for the embedded store's durability test: inserts documents forever and prints
 * each `_id` on stdout only after the store acknowledged it. The parent kill -9s it mid-stream.
 * Usage: node embedded-writer.child.js <compiled embedded.document-store.js> <data dir>
 */
const [, , modulePath, dir] = process.argv;
const { EmbeddedDocumentStore } = require(modulePath);

const store = new EmbeddedDocumentStore({ dir });
const scope = { appKey: 'app', collection: 'stream' };

(async () => {
  for (let i = 0; ; i += 1) {
    const id = `w${String(i).padStart(7, '0')}`;
    await store.insert(scope, { _id: id, i, payload: 'x'.repeat(200) });
    // Rewrites and index builds too, so the kill can land in any kind of transaction.
    if (i % 10 === 9) await store.setFields(scope, id, { rewritten: true });
    if (i % 50 === 49) await store.ensureIndex(scope, { field: `f${i}` });
    process.stdout.write(`${id}\n`);
  }
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
