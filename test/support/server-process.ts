/**
 * Runs the built server (dist/src/server.js, what `npm start` runs) as a child process on a free
 * port with a temp data dir, for end-to-end tests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/node-flags';

const ROOT = path.resolve(__dirname, '../..');
export const SERVER_ENTRY = path.join(ROOT, 'dist/src/server.js');

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Worker processes of every e2e server: 2 unless KINBASE_TEST_WORKERS says otherwise (the e2e and
 * SDK suites run against a two-worker cluster; `npm run test:e2e-single` runs them on one process).
 * A test that needs a particular number sets KINBASE_WORKERS in `env` itself.
 */
export const TEST_WORKERS = process.env.KINBASE_TEST_WORKERS ?? '2';

/**
 * Starts the server (with the node flags `npm start` passes, unless `nodeArgs` says otherwise) and
 * resolves once it listens; rejects with its output if it exits first.
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  if (!existsSync(SERVER_ENTRY))
    throw new Error(`${SERVER_ENTRY} is missing: run \`npm run build\` (npm test does it in pretest)`);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? NODE_FLAGS), SERVER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', KINBASE_LOG_LEVEL: 'warn', KINBASE_WORKERS: TEST_WORKERS, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const poll = setInterval(() => {
      const match = /\(port (\d+)\)/.exec(out);
      if (match) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the server expecting it to exit (bad configuration); resolves with code and output. */
export async function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, SERVER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', KINBASE_WORKERS: TEST_WORKERS, ...env },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}
