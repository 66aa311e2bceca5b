/** Global setup of the browser project: the shared test servers (servers-global-setup.ts), then Chromium. */
import { ensureChromium } from './browser-install';
import serversGlobalSetup from './servers-global-setup';

export default async function browserGlobalSetup(globalConfig: { rootDir: string }): Promise<void> {
  await serversGlobalSetup(globalConfig);
  // Installed here, once per run, so parallel workers never race apt-get; a failure is reported by
  // every browser test (launchBrowser), not by a setup error that would hide the other projects' results.
  const chromiumProblem = ensureChromium();
  if (chromiumProblem) process.env.KINBASE_TEST_CHROMIUM_PROBLEM = chromiumProblem;
}
