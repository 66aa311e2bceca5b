/** Jest runs every suite, as two projects:
 *  - `unit` (test/unit): no servers; `npx jest --selectProjects unit` runs just these.
 *  - `integration` (every other suite: integration, contract against every adapter, e2e,
 *    security): its globalSetup starts the real test servers (FerretDB, fake-gcs-server) once
 *    per run, and only when one of its suites is selected.
 *  Both give the run a private TMPDIR; its teardown fails the run if a test left a kinbase-* entry. */
const project = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  // ts-jest in transpile-only mode: fast, and pure JavaScript (no per-platform native binaries,
  // which this machine's registry cannot serve for other platforms, breaking `npm ci`).
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Removes the temp dirs a suite made through test/support/temp-dirs.ts, and fails it if one stays.
  setupFilesAfterEnv: ['<rootDir>/test/support/temp-cleanup.ts'],
};

module.exports = {
  projects: [
    {
      ...project,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      globalSetup: '<rootDir>/test/support/unit-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/unit-global-teardown.ts',
    },
    {
      ...project,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', {}]],
};
