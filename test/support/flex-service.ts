/**
 * Runs test/support/flex-service/service.js, a real kinvey-flex-sdk service, as a child process on
 * a free port, for the Flex client tests. kinvey-code-task-runner turns port 0 into its default
 * 10001, so the port is picked here (a listener on port 0, closed) and retried if another process
 * takes it first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';

const SCRIPT = path.join(__dirname, 'flex-service/service.js');
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;

export interface FlexServiceProcess {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  secret: string;
  /** What the service printed so far (stdout and stderr). */
  output: () => string;
  /** Kills the service and resolves once it exited. */
  stop: () => Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function startOnce(secret: string): Promise<FlexServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [SCRIPT], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH ?? '', PORT: String(port), FLEX_SECRET: secret, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // The sdk shuts down gracefully for up to 50 s; a test service has nothing to flush.
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Flex service did not start within ${START_TIMEOUT_MS} ms:\n${out}`)),
        START_TIMEOUT_MS,
      );
      const onData = (): void => {
        if (out.includes('flex service ready on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`Flex service exited (${child.exitCode ?? child.signalCode}) before listening:\n${out}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, secret, output: () => out, stop };
}

/**
 * Starts the service (shared secret `options.secret`, or a random one) and resolves once it
 * listens; rejects loudly with its output if it does not come up in time.
 */
export async function startFlexService(options: { secret?: string } = {}): Promise<FlexServiceProcess> {
  const secret = options.secret ?? randomBytes(12).toString('hex');
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(secret);
    } catch (error) {
      // Only a port taken between picking and listening is worth another try.
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}
