/**
 * kinvey-js-sdk 7.0.0 running the account-mail flows, through the Node platform adapter in
 * test/support (it rewrites the fixed kinvey.com origin). Env: KINBASE_URL, APP_KEY, APP_SECRET and those of account-mail-flows.js.
 */
const { init } = require('../../support/kinvey-js-sdk-node');
const { runAccountMailFlows } = require('./account-mail-flows');

const Kinvey = init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
});
runAccountMailFlows({ Kinvey })
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
