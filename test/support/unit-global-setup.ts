/** Global setup of the unit project: the run's private temp dir only; unit suites use no server. */
import { enterRunTempDir } from './run-temp-dir';

export default function unitGlobalSetup(): void {
  enterRunTempDir();
}
