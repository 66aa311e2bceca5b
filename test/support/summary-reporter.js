/**
 * Writes the run's totals to .test-results.json so .ci/run can print the plain
 * "N passed, N failed" line CI reads (one reporter sees every project's suites). Suites that fail
 * to run count as failed tests. At the end it prints the slowest suites and each project's time,
 * so a contributor sees where the run's minutes go and which project to run for their change.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** How many of the slowest suites the end-of-run table lists. */
const SLOWEST = 15;

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const projects = projectTotals(results.testResults);
    const summary = {
      passed: results.numPassedTests,
      // A suite that could not run at all (a syntax error, a failing beforeAll) counts as one failure.
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suites: results.numTotalTestSuites,
      projects,
    };
    writeFileSync(path.join(this.rootDir, '.test-results.json'), JSON.stringify(summary));
    process.stderr.write(timingTable(this.rootDir, results, projects));
  }
}

function projectName(suite) {
  const name = suite.displayName;
  return (typeof name === 'string' ? name : name?.name) ?? 'default';
}

/** A suite's time in ms: its runtime, or 0 when it never ran (a suite that failed to load). */
function suiteMs(suite) {
  return suite.perfStats?.runtime ?? 0;
}

/** Per project: suites, passed and failed tests, and the sum of its suites' times in seconds. */
function projectTotals(suites) {
  const totals = {};
  for (const suite of suites) {
    const total = (totals[projectName(suite)] ??= { suites: 0, passed: 0, failed: 0, seconds: 0 });
    total.suites += 1;
    total.passed += suite.numPassingTests;
    total.failed += suite.numFailingTests + (suite.testExecError ? 1 : 0);
    total.seconds += suiteMs(suite) / 1000;
  }
  for (const total of Object.values(totals)) total.seconds = Math.round(total.seconds * 10) / 10;
  return totals;
}

/** The end-of-run text: the slowest suites, then each project's summed suite time (suites run 2 at a time, so the sum exceeds the wall clock). */
function timingTable(rootDir, results, projects) {
  const suites = [...results.testResults].sort((a, b) => suiteMs(b) - suiteMs(a));
  if (suites.length === 0) return '';
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(8);
  const lines = [`\nslowest suites (of ${suites.length}):`];
  for (const suite of suites.slice(0, SLOWEST)) {
    lines.push(
      `${seconds(suiteMs(suite))}  ${projectName(suite).padEnd(8)} ${path.relative(rootDir, suite.testFilePath)}`,
    );
  }
  lines.push('time per project (sum of its suites):');
  for (const [name, total] of Object.entries(projects)) {
    lines.push(
      `${seconds(total.seconds * 1000)}  ${name.padEnd(8)} ${total.suites} suites, ${total.passed} passed, ${total.failed} failed`,
    );
  }
  lines.push(`wall clock: ${((Date.now() - results.startTime) / 1000).toFixed(1)} s\n`);
  return `${lines.join('\n')}\n`;
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
