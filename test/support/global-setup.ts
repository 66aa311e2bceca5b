/**
 * Global setup of the integration project (every suite outside test/unit): the run's private temp
 * dir, then the real servers those suites use, once per run: FerretDB (unless MONGODB_URL points at
 * a MongoDB already) and fake-gcs-server. Their addresses reach the test workers through
 * environment variables. A server that cannot start fails the whole run, loudly.
 */
import { startFerretDb } from './ferretdb';
import { startFakeGcs } from './fake-gcs';
import { registerStop, stopAll } from './processes';
import { enterRunTempDir, leaveRunTempDir } from './run-temp-dir';
import { ensureChromium } from './browser-install';

export default async function globalSetup(globalConfig: { rootDir: string }): Promise<void> {
  enterRunTempDir();
  const started = Date.now();
  const mongoStart = process.env.MONGODB_URL ? Promise.resolve({ url: process.env.MONGODB_URL, stop: async () => {} }) : startFerretDb();
  const gcsStart = startFakeGcs();
  // Each server is registered as soon as it is up, so a failure of the other still stops it.
  void mongoStart.then((mongo) => registerStop(mongo.stop), () => {});
  void gcsStart.then((gcs) => registerStop(gcs.stop), () => {});
  let mongo: Awaited<typeof mongoStart>;
  let gcs: Awaited<typeof gcsStart>;
  try {
    [mongo, gcs] = await Promise.all([mongoStart, gcsStart]);
  } catch (err) {
    // jest runs no teardown after a failed setup: stop what did start and remove the temp dir here.
    await Promise.allSettled([mongoStart, gcsStart]);
    await stopAll();
    try {
      leaveRunTempDir(globalConfig.rootDir);
    } catch {
      // No test ran, so none can have leaked anything; the server's error is the one to report.
    }
    throw err;
  }
  // Installed here, once per run, so parallel workers never race apt-get; a failure is reported by
  // every browser test (launchBrowser), not by the suites that need no browser.
  const chromiumProblem = ensureChromium();
  if (chromiumProblem) process.env.KINBASE_TEST_CHROMIUM_PROBLEM = chromiumProblem;
  process.env.KINBASE_TEST_MONGODB_URL = mongo.url;
  process.env.KINBASE_TEST_GCS_ENDPOINT = gcs.endpoint;
  process.stdout.write(`\ntest servers ready in ${Date.now() - started} ms: mongodb ${mongo.url}, gcs ${gcs.endpoint}\n`);
}
