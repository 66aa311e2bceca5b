/**
 * The server under test for bench:scale: `node dist/src/server.js` on a seeded data dir, timed
 * from spawn to its first answered GET by id, and its resident memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../free-port';
import { stopChild, track } from '../kinbase-process';
import { kinbaseNodeArgs } from '../node-args';
import { Client } from './http';

const SERVER_ENTRY = path.join(__dirname, '../../src/server.js');
const START_TIMEOUT_MS = 120_000;

export interface StartedServer {
  child: ChildProcess;
  client: Client;
  /** Spawn to first 200 on `probePath`. */
  startMs: number;
  output: () => string;
}

/**
 * Spawns the server with `env` on a free port and polls `probePath` every 5 ms (connection
 * refused or reset, or 503, while it starts) until it answers 200. Throws with the server's output if it
 * exits or takes longer than 2 minutes.
 */
export async function startTimed(env: Record<string, string>, probePath: string, auth: string): Promise<StartedServer> {
  const port = await freePort();
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...kinbaseNodeArgs(), SERVER_ENTRY], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port), KINBASE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const client = new Client(`http://127.0.0.1:${port}`);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${out}`);
    if (performance.now() - started > START_TIMEOUT_MS)
      throw new Error(`the server did not answer ${probePath} within ${START_TIMEOUT_MS / 1000} s:\n${out}`);
    try {
      const reply = await client.send('GET', probePath, auth);
      if (reply.status === 200) return { child, client, startMs: performance.now() - started, output: () => out };
      if (reply.status !== 503)
        throw new Error(`GET ${probePath} while starting: ${reply.status} ${reply.body.slice(0, 300)}`);
    } catch (err) {
      // Not listening yet, or (seen once at 1M) a connection reset while it starts: try again.
      if (!['ECONNREFUSED', 'ECONNRESET'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
export function stop(child: ChildProcess): Promise<void> {
  return stopChild(child, 10_000);
}
