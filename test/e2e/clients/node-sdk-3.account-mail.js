/**
 * kinvey-node-sdk 3.12.5 running the account-mail flows, unpatched (`apiHostname`).
 * Env: KINBASE_URL, APP_KEY, APP_SECRET and those of account-mail-flows.js.
 */
const Kinvey = require('kinvey-node-sdk');
const { runAccountMailFlows } = require('./account-mail-flows');

Kinvey.init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
  micHostname: process.env.KINBASE_URL,
});
runAccountMailFlows({ Kinvey })
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
