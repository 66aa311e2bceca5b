/**
 * Writes the run's totals to .test-results.json so .ci/run can print the plain
 * "N passed, N failed" line CI reads. Suites that fail to run count as failed tests.
 */
const { readFileSync, writeFileSync } = require('node:fs');
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

/**
 * Counts a failure found after the reporters ran (the global teardown's leftover check) in
 * .test-results.json, so the "N failed" CI prints includes it. Does nothing if no summary exists.
 */
function addRunFailure(rootDir, reason) {
  const file = path.join(rootDir, '.test-results.json');
  let summary;
  try {
    summary = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  summary.failed = (summary.failed ?? 0) + 1;
  summary.runFailures = [...(summary.runFailures ?? []), reason];
  writeFileSync(file, JSON.stringify(summary));
}

module.exports = SummaryReporter;
module.exports.addRunFailure = addRunFailure;
