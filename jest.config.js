/** Jest runs every suite: unit, integration, contract (against every adapter) and e2e.
 *  globalSetup starts the real test servers (FerretDB, fake-gcs-server) once per run. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', {}]],
};
