/**
 * Global setup of the projects whose suites use the real test servers (api, browser): the run's
 * private temp dir, then FerretDB (unless MONGODB_URL points at a MongoDB already) and
 * fake-gcs-server and versitygw (S3). jest runs every selected project's global setup before any test and every
 * teardown after the last one, in one process, so the servers start once per run: the first
 * project's setup starts them, later ones share them (counted in process.env, like the temp dir),
 * and the last teardown stops them. Their addresses reach the test workers through environment
 * variables. A server that cannot start fails the whole run, loudly.
 */
import { startFerretDb } from './ferretdb';
import { startFakeGcs } from './fake-gcs';
import { startVersitygw } from './versitygw';
import { registerStop, stopAll } from './processes';
import { enterRunTempDir, leaveRunTempDir } from './run-temp-dir';

/** How many projects of this run use the servers; the teardown that brings it to 0 stops them. */
export const SERVER_USERS = 'KINBASE_TEST_SERVER_USERS';

export default async function serversGlobalSetup(globalConfig: { rootDir: string }): Promise<void> {
  enterRunTempDir();
  const users = Number(process.env[SERVER_USERS] ?? 0);
  process.env[SERVER_USERS] = String(users + 1);
  if (users > 0) return; // another project of this run started them

  const started = Date.now();
  const mongoStart = process.env.MONGODB_URL
    ? Promise.resolve({ url: process.env.MONGODB_URL, stop: async () => {} })
    : startFerretDb();
  const gcsStart = startFakeGcs();
  const s3Start = startVersitygw();
  // Each server is registered as soon as it is up, so a failure of the other still stops it.
  void mongoStart.then(
    (mongo) => registerStop(mongo.stop),
    () => {},
  );
  void gcsStart.then(
    (gcs) => registerStop(gcs.stop),
    () => {},
  );
  void s3Start.then(
    (s3) => registerStop(s3.stop),
    () => {},
  );
  let mongo: Awaited<typeof mongoStart>;
  let gcs: Awaited<typeof gcsStart>;
  let s3: Awaited<typeof s3Start>;
  try {
    [mongo, gcs, s3] = await Promise.all([mongoStart, gcsStart, s3Start]);
  } catch (err) {
    // jest runs no teardown after a failed setup: stop what did start and remove the temp dir here.
    await Promise.allSettled([mongoStart, gcsStart, s3Start]);
    await stopAll();
    delete process.env[SERVER_USERS];
    try {
      leaveRunTempDir(globalConfig.rootDir);
    } catch {
      // No test ran, so none can have leaked anything; the server's error is the one to report.
    }
    throw err;
  }
  process.env.KINBASE_TEST_MONGODB_URL = mongo.url;
  process.env.KINBASE_TEST_GCS_ENDPOINT = gcs.endpoint;
  process.env.KINBASE_TEST_S3_ENDPOINT = s3.endpoint;
  process.stdout.write(
    `\ntest servers ready in ${Date.now() - started} ms: mongodb ${mongo.url}, gcs ${gcs.endpoint}, s3 ${s3.endpoint}\n`,
  );
}
