/**
 * kinvey-js-sdk 7.0.0 (the generation with a fixed https://baas.kinvey.com origin) as a real
 * client: initialised through the Node platform adapter in test/support, which rewrites the origin
 * to the kinbase server. Env: KINBASE_URL, APP_KEY, APP_SECRET, READONLY_COLLECTION.
 */
const { init } = require('../../support/kinvey-js-sdk-node');
const { runFlows } = require('./flows');

// A tiny PNG-like payload with every byte value: catches any text decoding on the way.
const fileContent = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
]);

const Kinvey = init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
});
runFlows({
  Kinvey,
  sdk: 'js-sdk-7',
  fileContent,
  mimeType: 'image/png',
  readOnlyCollection: process.env.READONLY_COLLECTION,
})
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
