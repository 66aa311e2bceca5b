/**
 * Global teardown of the browser project: the same as the api project's. A file of its own because
 * jest runs a global hook once per distinct module path: sharing servers-global-teardown.ts with
 * api would run it once for two setups, and the servers would never stop.
 */
export { default } from './servers-global-teardown';
