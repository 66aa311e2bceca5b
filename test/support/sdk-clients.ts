/**
 * Runs an official-SDK client script (test/e2e/clients) in its own process: the SDKs keep their
 * configuration and session per process. The script prints one line `FLOW {"flow", "value"|"error"}`
 * per flow; the result maps flow names to those lines. A script that crashes, or runs past
 * `timeoutMs`, fails loudly with its output.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/free-port';
import { startServerProcess, type ServerProcess } from './server-process';

export interface FlowResult {
  flow: string;
  value?: unknown;
  error?: { name: string; message: string; debug?: string };
}

export async function runFlowScript(
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Map<string, FlowResult>> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${out}\n${err}`);
  const results = new Map<string, FlowResult>();
  for (const line of out.split('\n')) {
    if (line.startsWith('FLOW ')) {
      const result = JSON.parse(line.slice(5)) as FlowResult;
      results.set(result.flow, result);
    }
  }
  return results;
}

/**
 * The built server for an SDK suite: a temp data dir with `apps` as its apps file, on a free port
 * whose public URL the SDK clients can reach. The caller stops the server and removes `dataDir`.
 */
export async function startSdkServer(
  apps: readonly object[],
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ server: ServerProcess; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  const appsFile = path.join(dataDir, 'apps.json');
  await writeFile(appsFile, JSON.stringify(apps));
  const port = await freePort();
  const server = await startServerProcess({
    PORT: String(port),
    KINBASE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    KINBASE_DATA_DIR: dataDir,
    KINBASE_APPS_FILE: appsFile,
    ...env,
  });
  return { server, dataDir };
}
