/** Global teardown of the unit and e2e projects: checks (if it is the last one) the run's temp dir. */
import { leaveRunTempDir } from './run-temp-dir';

export default function tempDirGlobalTeardown(globalConfig: { rootDir: string }): void {
  leaveRunTempDir(globalConfig.rootDir);
}
