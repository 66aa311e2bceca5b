/**
 * Runs an official-SDK client script (test/e2e/clients) in its own process: the SDKs keep their
 * configuration and session per process. The script prints one line `FLOW {"flow", "value"|"error"}`
 * per flow; the result maps flow names to those lines. A script that crashes, or runs past
 * `timeoutMs`, fails loudly with its output.
 */
import { spawn } from 'node:child_process';

export interface FlowResult {
  flow: string;
  value?: unknown;
  error?: { name: string; message: string; debug?: string };
}

export async function runFlowScript(script: string, env: Record<string, string>, timeoutMs: number): Promise<Map<string, FlowResult>> {
  const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
