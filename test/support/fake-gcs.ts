/**
 * Starts fake-gcs-server (github.com/fsouza/fake-gcs-server), a Google Cloud Storage emulator, as a
 * child process with an in-memory backend on a free local port.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../bench/free-port';
import path from 'node:path';

const START_TIMEOUT_MS = 20_000;
const HOW_TO_FIX =
  'Install the test servers with `npm run test-servers` (needs Go), or put fake-gcs-server into $KINBASE_TOOLS_DIR.';

function goBinDir(): string | undefined {
  try {
    return path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
  } catch {
    return undefined;
  }
}

/** Finds the binary, installing it with scripts/install-test-servers.sh when it is nowhere. */
function findBinary(): string {
  const candidates = [process.env.KINBASE_TOOLS_DIR, goBinDir()].filter((dir): dir is string => !!dir);
  for (const dir of candidates) {
    const bin = path.join(dir, 'fake-gcs-server');
    if (existsSync(bin)) return bin;
  }
  const script = path.resolve(__dirname, '../../scripts/install-test-servers.sh');
  try {
    const toolsDir =
      execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
        .trim()
        .split('\n')
        .pop() ?? '';
    const bin = path.join(toolsDir, 'fake-gcs-server');
    if (existsSync(bin)) return bin;
  } catch (cause) {
    throw new Error(`fake-gcs-server is not installed and installing it failed. ${HOW_TO_FIX}`, { cause });
  }
  throw new Error(`fake-gcs-server not found in ${candidates.join(', ') || '(no tools dir)'}. ${HOW_TO_FIX}`);
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/storage/v1/b?project=test`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts fake-gcs-server over plain HTTP on 127.0.0.1 and resolves once it answers the JSON API.
 * `endpoint` is what @google-cloud/storage takes as `apiEndpoint`; `stop` ends the process.
 * Throws (with the tail of the server's stderr and how to fix it) if it cannot start within ~20 s.
 */
export async function startFakeGcs(): Promise<{
  endpoint: string;
  stop: () => Promise<void>;
  /** Sends a signal to the emulator process (SIGSTOP, SIGCONT): for fault tests. */
  signal: (signal: NodeJS.Signals) => void;
}> {
  const bin = findBinary();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'memory',
      '-external-url',
      endpoint,
      '-public-host',
      `127.0.0.1:${port}`,
      '-log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null) break;
    if (await answers(endpoint))
      return {
        endpoint,
        stop: () => {
          child.kill('SIGCONT');
          return stopProcess(child);
        },
        signal: (signal) => void child.kill(signal),
      };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopProcess(child);
  const why = spawnError
    ? spawnError.message
    : child.exitCode !== null
      ? `exited with code ${child.exitCode}`
      : `did not answer within ${START_TIMEOUT_MS} ms`;
  throw new Error(
    `fake-gcs-server (${bin}) ${why} on ${endpoint}.\n--- stderr tail ---\n${stderr.trim() || '(empty)'}\n---\n${HOW_TO_FIX}`,
  );
}
