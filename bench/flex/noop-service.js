// A Flex service for bench:business-logic, built with kinvey-flex-sdk: one handler that does
// nothing and lets the request go on. Env: PORT, FLEX_SECRET. Prints a line once listening.
const sdk = require('kinvey-flex-sdk');

sdk.service(
  { host: '127.0.0.1', port: Number(process.env.PORT), sharedSecret: process.env.FLEX_SECRET },
  (err, flex) => {
    if (err) {
      console.error(`flex service failed to start: ${err}`);
      process.exit(1);
    }
    flex.functions.register('noop', (context, complete) => complete().next());
    console.log('flex service ready');
  },
);
