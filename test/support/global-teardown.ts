/** Global teardown of the integration project: stops the servers, then checks the run's temp dir. */
import { stopAll } from './processes';
import { leaveRunTempDir } from './run-temp-dir';

export default async function globalTeardown(globalConfig: { rootDir: string }): Promise<void> {
  await stopAll();
  leaveRunTempDir(globalConfig.rootDir);
}
