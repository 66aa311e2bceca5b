/**
 * kinvey-js-sdk 7.0.0 running the role flows, through the Node platform adapter in test/support
 * (it rewrites the fixed kinvey.com origin). Env: KINBASE_URL, APP_KEY, APP_SECRET, MASTER_SECRET.
 */
const { init } = require('../../support/kinvey-js-sdk-node');
const { runRoleFlows } = require('./roles-flows');

const Kinvey = init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
});
runRoleFlows({ Kinvey, sdk: 'js-sdk-7' })
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
