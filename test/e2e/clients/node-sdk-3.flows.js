/**
 * kinvey-node-sdk 3.12.5 as a real client, unpatched: this generation takes the server through
 * `apiHostname`. Env: KINBASE_URL, APP_KEY, APP_SECRET, READONLY_COLLECTION.
 */
const Kinvey = require('kinvey-node-sdk');
const { runFlows } = require('./flows');

// This SDK decodes every response body as UTF-8 text (request@2 without `encoding: null`), so
// binary downloads through Files.download cannot be byte-identical; a UTF-8 text file with
// multi-byte characters is what it can round-trip.
const fileContent = Buffer.from('kinbase ✓ résumé 🚀 — line one\nline two\n', 'utf8');

Kinvey.init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
  micHostname: process.env.KINBASE_URL,
});
runFlows({
  Kinvey,
  sdk: 'node-sdk-3',
  fileContent,
  mimeType: 'text/plain',
  readOnlyCollection: process.env.READONLY_COLLECTION,
})
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
