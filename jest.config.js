/** Jest runs every suite: unit, integration, contract (against every adapter) and e2e.
 *  globalSetup starts the real test servers (FerretDB, fake-gcs-server) once per run. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // ts-jest in transpile-only mode: fast, and pure JavaScript (no per-platform native binaries,
  // which this machine's registry cannot serve for other platforms, breaking `npm ci`).
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', {}]],
};
