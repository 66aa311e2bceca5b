/**
 * Starts the real servers every suite may use, once per `npm test`: FerretDB (unless MONGODB_URL
 * points at a MongoDB already) and fake-gcs-server. Their addresses reach the test workers through
 * environment variables. A server that cannot start fails the whole run, loudly.
 */
import { startFerretDb } from './ferretdb';
import { startFakeGcs } from './fake-gcs';
import { registerStop } from './processes';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const [mongo, gcs] = await Promise.all([
    process.env.MONGODB_URL ? Promise.resolve({ url: process.env.MONGODB_URL, stop: async () => {} }) : startFerretDb(),
    startFakeGcs(),
  ]);
  registerStop(mongo.stop);
  registerStop(gcs.stop);
  process.env.KINBASE_TEST_MONGODB_URL = mongo.url;
  process.env.KINBASE_TEST_GCS_ENDPOINT = gcs.endpoint;
  process.stdout.write(`\ntest servers ready in ${Date.now() - started} ms: mongodb ${mongo.url}, gcs ${gcs.endpoint}\n`);
}
