/** Global setup of the projects whose suites use no shared test server (unit, e2e): the run's private temp dir only. */
import { enterRunTempDir } from './run-temp-dir';

export default function tempDirGlobalSetup(): void {
  enterRunTempDir();
}
