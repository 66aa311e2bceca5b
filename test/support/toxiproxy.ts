/**
 * A private toxiproxy-server (v2.5.0, built by scripts/install-test-servers.sh) driven over its
 * HTTP API: proxies in front of FerretDB and fake-gcs-server, and toxics (latency, bandwidth,
 * reset_peer, timeout) added and removed while kinbase runs. Fails loudly when the binary is
 * missing or the server does not answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../bench/free-port';

const HOW_TO_FIX = 'Run `npm run test-servers` (needs Go) to build toxiproxy-server.';

function binary(): string {
  const dir = process.env.KINBASE_TOOLS_DIR ?? path.join(process.env.HOME ?? '/root', 'go', 'bin');
  const file = path.join(dir, 'toxiproxy-server');
  if (!existsSync(file)) throw new Error(`toxiproxy-server is not at ${file}. ${HOW_TO_FIX}`);
  return file;
}

export interface Toxic {
  readonly type: 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'slow_close' | 'limit_data';
  readonly attributes: Record<string, number>;
  readonly stream?: 'upstream' | 'downstream';
}

export interface Toxiproxy {
  /** Creates a proxy to `upstream` (host:port) and resolves with the port it listens on. */
  proxy(name: string, upstream: string): Promise<number>;
  addToxic(proxy: string, name: string, toxic: Toxic): Promise<void>;
  removeToxic(proxy: string, name: string): Promise<void>;
  /** Disabled: every connection is closed and new ones refused, as a dead host would. */
  setEnabled(proxy: string, enabled: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary(), ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${api}/version`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`toxiproxy-server did not start on port ${port}:\n${stderr}\n${HOW_TO_FIX}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${api}${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${route}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  return {
    proxy: async (name, upstream) => {
      const listenPort = await freePort();
      await call('POST', '/proxies', { name, listen: `127.0.0.1:${listenPort}`, upstream, enabled: true });
      return listenPort;
    },
    addToxic: async (proxy, name, toxic) =>
      void (await call('POST', `/proxies/${proxy}/toxics`, { name, stream: 'downstream', toxicity: 1, ...toxic })),
    removeToxic: async (proxy, name) => void (await call('DELETE', `/proxies/${proxy}/toxics/${name}`)),
    setEnabled: async (proxy, enabled) => void (await call('POST', `/proxies/${proxy}`, { enabled })),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
