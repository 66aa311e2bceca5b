/**
 * Writes the run's totals to .test-results.json so .ci/run can print the plain
 * "N passed, N failed" line CI reads. Suites that fail to run count as failed tests.
 */
const { writeFileSync } = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      // A suite that could not run at all (a syntax error, a failing beforeAll) counts as one failure.
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suites: results.numTotalTestSuites,
    };
    writeFileSync(path.join(this.rootDir, '.test-results.json'), JSON.stringify(summary));
  }
}

module.exports = SummaryReporter;
