/** Global teardown of the api and browser projects: the last one stops the servers; then the run's temp dir is checked. */
import { stopAll } from './processes';
import { leaveRunTempDir } from './run-temp-dir';
import { SERVER_USERS } from './servers-global-setup';

export default async function serversGlobalTeardown(globalConfig: { rootDir: string }): Promise<void> {
  const users = Number(process.env[SERVER_USERS] ?? 1) - 1;
  process.env[SERVER_USERS] = String(users);
  if (users <= 0) {
    delete process.env[SERVER_USERS];
    await stopAll();
  }
  leaveRunTempDir(globalConfig.rootDir);
}
