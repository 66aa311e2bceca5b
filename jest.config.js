/** Jest runs every suite, as four projects by kind, so a contributor can run the part they touch
 *  (`npx jest --selectProjects api`, or a path first: `npx jest test/e2e/sdk.test.ts --selectProjects e2e`):
 *  - `unit` (test/unit): no servers, no network, no build.
 *  - `api` (test/integration, test/contract, test/security): the app in-process over HTTP, and
 *    every port's contract against every adapter; uses FerretDB and fake-gcs-server.
 *  - `e2e` (test/e2e except console-*): the built server (dist/, `npm test` builds it first) as
 *    a child process, driven by the real Kinvey SDKs and the README's curl walkthrough; no test servers.
 *  - `browser` (test/e2e/console-*, account-*): the console and the account pages in Chromium (installed on first use), against
 *    apps on the embedded store, FerretDB and fake-gcs-server.
 *  The test servers start once per run, in the first selected project's globalSetup that needs
 *  them (api, browser), and stop after the last one. Every project gives the run one private
 *  TMPDIR; the last teardown fails the run if a test left a kinbase-* entry in it. jest runs a
 *  global hook once per distinct file, so each setup is paired with a teardown of the same reach
 *  (unit and e2e share theirs; api and browser each have their own, which count their servers' users).
 *  test/support/summary-reporter.js writes .test-results.json (read by .ci/run) and prints the
 *  slowest suites and each project's time at the end. */
const project = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  // ts-jest in transpile-only mode: fast, and pure JavaScript (no per-platform native binaries,
  // which this machine's registry cannot serve for other platforms, breaking `npm ci`).
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // thumbhash ships only as an ES module: jest's CommonJS loader needs it transpiled.
    '/node_modules/thumbhash/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!thumbhash/)'],
  // Removes the temp dirs a suite made through test/support/temp-dirs.ts, and fails it if one stays.
  setupFilesAfterEnv: ['<rootDir>/test/support/temp-cleanup.ts'],
};
const tempDirOnly = {
  globalSetup: '<rootDir>/test/support/temp-dir-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/temp-dir-global-teardown.ts',
};
const withServers = {
  globalSetup: '<rootDir>/test/support/servers-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/servers-global-teardown.ts',
};
const BROWSER_SUITES = '<rootDir>/test/e2e/(console|account)-[^/]*\\.test\\.ts$';

module.exports = {
  projects: [
    { ...project, ...tempDirOnly, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...project,
      ...withServers,
      displayName: 'api',
      roots: ['<rootDir>/test/integration', '<rootDir>/test/contract', '<rootDir>/test/security'],
    },
    {
      ...project,
      ...tempDirOnly,
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testPathIgnorePatterns: ['/node_modules/', BROWSER_SUITES],
    },
    {
      ...project,
      ...withServers,
      globalSetup: '<rootDir>/test/support/browser-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/browser-global-teardown.ts',
      displayName: 'browser',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/test/e2e/console-*.test.ts', '**/test/e2e/account-*.test.ts'],
    },
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', {}]],
};
