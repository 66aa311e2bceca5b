/**
 * kinvey-node-sdk 3.12.5 running the role flows, unpatched (`apiHostname`).
 * Env: KINBASE_URL, APP_KEY, APP_SECRET, MASTER_SECRET.
 */
const Kinvey = require('kinvey-node-sdk');
const { runRoleFlows } = require('./roles-flows');

Kinvey.init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
  micHostname: process.env.KINBASE_URL,
});
runRoleFlows({ Kinvey, sdk: 'node-sdk-3' })
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
