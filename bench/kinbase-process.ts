/**
 * The built kinbase server as a child process of a bench: started with PORT=0 and the node flags
 * `npm start` uses (bench/node-args.ts), ready once it prints `(port N)`. Every child a bench
 * starts is tracked, so one stopAll() ends them all (SIGTERM, then SIGKILL after 3 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { kinbaseNodeArgs } from './node-args';

const SERVER_ENTRY = path.join(__dirname, '../src/server.js');
const children: ChildProcess[] = [];

/** Registers a child so stopAll() ends it. */
export function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

export interface Kinbase {
  name: string;
  base: string;
  port: number;
  child: ChildProcess;
}

/**
 * Starts `node dist/src/server.js` with `env` (plus PATH, PORT=0, warn logging, and one process:
 * KINBASE_WORKERS=1 unless `env` says otherwise) and resolves once it listens. One process, because
 * the benches that read a server's CPU time or peak RSS from /proc read that one pid; bench:workers
 * sets KINBASE_WORKERS itself and sums the process tree. Its output is kept only until then (for the error message), so a chatty server does
 * not load the bench process. `entry` replaces the server script (e.g. an older build).
 */
export async function startKinbase(name: string, env: Record<string, string>, entry = SERVER_ENTRY): Promise<Kinbase> {
  const child = track(
    spawn(process.execPath, [...kinbaseNodeArgs(), entry], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', KINBASE_LOG_LEVEL: 'warn', KINBASE_WORKERS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "(port N)" within 20 s:\n${out}`)), 20_000);
    const listening = () => {
      const match = /\(port (\d+)\)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.removeListener('exit', exited);
      resolve(Number(match[1]));
    };
    const exited = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${out}`));
    };
    child.stdout?.on('data', listening);
    child.once('exit', exited);
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.removeAllListeners('data');
    stream?.resume();
  }
  return { name, base: `http://127.0.0.1:${port}`, port, child };
}

/** Ends every tracked child and waits for them to exit. */
export async function stopAll(): Promise<void> {
  await Promise.all(children.splice(0).map((child) => stopChild(child, 3000)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
