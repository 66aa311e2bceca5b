/** Global teardown of the unit project: checks (if it is the last one) the run's temp dir. */
import { leaveRunTempDir } from './run-temp-dir';

export default function unitGlobalTeardown(globalConfig: { rootDir: string }): void {
  leaveRunTempDir(globalConfig.rootDir);
}
