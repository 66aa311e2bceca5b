/**
 * What every SDK client script prints, one line per flow: `FLOW {"flow":…,"value":…}` or
 * `FLOW {"flow":…,"error":{name,message,debug}}` (test/support/sdk-clients.ts reads them). A flow
 * that throws or outlasts FLOW_TIMEOUT_MS reports its error, so one broken flow hides no other.
 */
const FLOW_TIMEOUT_MS = 10_000;

function report(flow, outcome) {
  process.stdout.write(`FLOW ${JSON.stringify({ flow, ...outcome })}\n`);
}

function describeError(err) {
  if (!err || typeof err !== 'object') return { name: 'NonError', message: String(err) };
  return { name: err.name, message: err.message, debug: err.debug };
}

/** Runs one flow and reports it; resolves with its value, or undefined if it failed. */
async function flow(name, run, timeoutMs = FLOW_TIMEOUT_MS) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`flow did not finish within ${timeoutMs} ms`), { name: 'FlowTimeout' })),
      timeoutMs,
    );
  });
  try {
    const value = await Promise.race([run(), guard]);
    report(name, { value: value === undefined ? null : value });
    return value;
  } catch (err) {
    report(name, { error: describeError(err) });
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a call that is expected to fail; resolves with its error (or throws if it succeeded). */
async function expectFailure(call) {
  try {
    await call();
  } catch (err) {
    return describeError(err);
  }
  throw new Error('the call succeeded but should have failed');
}

module.exports = { flow, describeError, expectFailure };
