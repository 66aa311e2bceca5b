/**
 * Starts a private FerretDB v1.24.2 (MongoDB wire protocol over SQLite) in a fresh temp dir, for the
 * tests that need a real MongoDB-compatible server. Builds it first if it is missing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../../bench/free-port';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';

const FERRETDB_VERSION = 'v1.24.2';
const READY_TIMEOUT_MS = 30_000;
const HOW_TO_FIX = 'Run `npm run test-servers` (needs Go), or set MONGODB_URL to a running MongoDB.';

/**
 * Starts FerretDB on a free 127.0.0.1 port and resolves once it answers `ping`. Throws an Error
 * saying what failed (with the server's stderr tail) and how to fix it. `stop` kills the server
 * and removes its data.
 */
export async function startFerretDb(): Promise<FerretDb> {
  const binary = ensureBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-ferretdb-'));
  const port = await freePort();
  const launch = (): ChildProcess => {
    const proc = spawn(
      binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
        `--state-dir=${dir}`,
        `--listen-addr=127.0.0.1:${port}`,
        // '-' disables the debug/metrics HTTP listener (FerretDB checks for it explicitly).
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    return proc;
  };
  let stderr = '';
  let child = launch();
  const stop = async (): Promise<void> => {
    if (child.signalCode === 'SIGSTOP') child.kill('SIGCONT');
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  };
  const url = `mongodb://127.0.0.1:${port}/`;
  const ready = async (): Promise<void> => {
    try {
      await waitForPing(url, child);
    } catch (err) {
      await stop();
      throw new Error(
        `FerretDB (${binary}) did not become ready on port ${port}: ${(err as Error).message}\n` +
          `stderr tail:\n${stderr.trim() || '(empty)'}\n${HOW_TO_FIX}`,
      );
    }
  };
  await ready();
  return {
    url,
    port,
    stop,
    signal: (signal) => void child.kill(signal),
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) await kill(child);
      child = launch();
      await ready();
    },
  };
}

/** A private FerretDB: its URL, and the process for fault tests (signals, a restart on the same data). */
export interface FerretDb {
  readonly url: string;
  readonly port: number;
  /** Kills the server and removes its data. */
  readonly stop: () => Promise<void>;
  /** Sends a signal to the server process (SIGSTOP, SIGCONT, SIGKILL). */
  readonly signal: (signal: NodeJS.Signals) => void;
  /** Starts the server again on the same port and data (after a SIGKILL), once it answers ping. */
  readonly restart: () => Promise<void>;
}

function toolsDir(): string {
  if (process.env.KINBASE_TOOLS_DIR) return process.env.KINBASE_TOOLS_DIR;
  try {
    return path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
  } catch {
    throw new Error(`FerretDB is needed for the MongoDB tests, and Go (to build it) was not found. ${HOW_TO_FIX}`);
  }
}

function hasWantedVersion(binary: string): boolean {
  if (!existsSync(binary)) return false;
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).includes(`version: ${FERRETDB_VERSION}`);
  } catch {
    return false;
  }
}

function ensureBinary(): string {
  const binary = path.join(toolsDir(), 'ferretdb');
  if (hasWantedVersion(binary)) return binary;
  process.stdout.write(
    `\nFerretDB ${FERRETDB_VERSION} not found at ${binary}; building it with scripts/install-test-servers.sh (once, takes a few minutes)\n`,
  );
  try {
    execFileSync('bash', [path.join(__dirname, '../../scripts/install-test-servers.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (err) {
    throw new Error(`building FerretDB failed: ${(err as Error).message}. ${HOW_TO_FIX}`);
  }
  if (!hasWantedVersion(binary))
    throw new Error(`FerretDB ${FERRETDB_VERSION} is still missing at ${binary} after building. ${HOW_TO_FIX}`);
  return binary;
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the process exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
    try {
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.close().catch(() => {});
    }
  }
  throw new Error(
    `no successful ping within ${READY_TIMEOUT_MS / 1000} s (last error: ${(lastError as Error)?.message})`,
  );
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** FerretDB announces itself in buildInfo; a real MongoDB must pass the suite without any gaps. */
export async function isFerretDb(url: string): Promise<boolean> {
  const client = new MongoClient(url);
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    return 'ferretdbVersion' in info || 'ferretdbFeatures' in info;
  } finally {
    await client.close();
  }
}
