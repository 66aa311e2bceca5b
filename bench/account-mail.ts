/**
 * Account-mail bench: the latency of `POST /rpc/:appKey/:username/user-password-reset-initiate`
 * for existing users, side by side in one run, with mail off, with mail on to a working SMTP
 * server (Mailpit, when installed), and with mail on to an SMTP server that accepts connections
 * and never answers. Sending is queued, so the three should match: the ratios to "off" show it.
 *
 * kinbase runs in this process (buildRuntime + createApp, embedded store in a temp dir) on
 * loopback; each phase gets its own app and users. Requests go one at a time, each user once,
 * from rotating loopback source addresses (127.2.x.y, 15 each), so the initiation limits (3 mails
 * per account, 20 starts per client per 15 minutes) never hold a request back.
 *
 * Usage: npm run bench:account-mail   (BENCH_REQUESTS=300 per phase)
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, request, Agent } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import { AppRegistry } from '../src/domain/apps/app-registry';
import { buildRuntime } from '../src/runtime';
import { createObjectStore } from '../src/stores';
import { EmbeddedDocumentStore } from '../src/stores/documents/embedded/embedded.document-store';
import { freePort } from './free-port';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const APP_SECRET = 'account-mail-app-secret';
const MASTER_SECRET = 'account-mail-master-secret';

interface Phase {
  name: string;
  smtpUrl: string | null;
}

function post(port: number, pathname: string, auth: string, agent: Agent, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: pathname,
        agent,
        headers: {
          Authorization: auth,
          ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function runPhase(phase: Phase): Promise<number[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-bench-mail-'));
  const holder: { handler?: ReturnType<typeof createApp> } = {};
  const server = createHttpServer((req, res) => {
    if (holder.handler) void holder.handler(req, res);
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const appKey = `kid_mail${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    KINBASE_DATA_DIR: dataDir,
    KINBASE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    KINBASE_LOG_LEVEL: 'silent',
    ...(phase.smtpUrl ? { KINBASE_SMTP_URL: phase.smtpUrl, KINBASE_MAIL_FROM: 'bench@kinbase.test' } : {}),
  });
  const documents = new EmbeddedDocumentStore({ dir: path.join(dataDir, 'documents') });
  const objects = await createObjectStore(
    { kind: 'local' },
    { dataDir, publicUrl: config.publicUrl, signingSecret: randomBytes(32).toString('hex') },
  );
  const runtime = buildRuntime({
    config,
    apps: new AppRegistry([
      { appKey, appSecret: APP_SECRET, masterSecret: MASTER_SECRET, name: 'Bench', collections: {} },
    ]),
    documents,
    objects,
    logger: pino({ level: 'silent' }),
  });
  holder.handler = createApp(runtime);
  const auth = `Basic ${Buffer.from(`${appKey}:${APP_SECRET}`).toString('base64')}`;
  const agents = new Map<string, Agent>();
  const agentFor = (i: number): Agent => {
    const client = Math.floor(i / 15) + 1;
    const from = `127.2.${(client >> 8) & 255}.${client & 255}`;
    let agent = agents.get(from);
    if (!agent) agents.set(from, (agent = new Agent({ keepAlive: true, localAddress: from })));
    return agent;
  };
  try {
    for (let i = 0; i < REQUESTS; i++) {
      const status = await post(port, `/user/${appKey}`, auth, agentFor(0), {
        username: `u${i}`,
        password: 'bench-password',
        email: `u${i}@bench.test`,
      });
      if (status !== 201) throw new Error(`signup answered ${status}`);
    }
    const latencies: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const start = process.hrtime.bigint();
      const status = await post(port, `/rpc/${appKey}/u${i}/user-password-reset-initiate`, auth, agentFor(i));
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (status !== 204) throw new Error(`reset-initiate answered ${status}`);
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    for (const agent of agents.values()) agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    if (runtime.mailOutbox) runtime.mailOutbox.close();
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Mailpit from $KINBASE_TOOLS_DIR or `go env GOPATH`/bin, or null when it is not installed. */
async function startMailpit(): Promise<{ smtpUrl: string; stop: () => void } | null> {
  const dirs = [process.env.KINBASE_TOOLS_DIR];
  try {
    dirs.push(path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin'));
  } catch {
    // No Go.
  }
  const bin = dirs.map((d) => d && path.join(d, 'mailpit')).find((b) => b && existsSync(b));
  if (!bin) return null;
  const [smtp, http] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    bin,
    ['--smtp', `127.0.0.1:${smtp}`, '--listen', `127.0.0.1:${http}`, '--disable-version-check', '--quiet'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${http}/api/v1/info`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { smtpUrl: `smtp://127.0.0.1:${smtp}`, stop: () => child.kill('SIGTERM') };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const mailpit = await startMailpit();
  const phases: Phase[] = [
    { name: 'mail off', smtpUrl: null },
    ...(mailpit ? [{ name: 'mail on (Mailpit)', smtpUrl: mailpit.smtpUrl }] : []),
    { name: 'mail on (silent SMTP)', smtpUrl: `smtp://127.0.0.1:${(silent.address() as { port: number }).port}` },
  ];
  const rows: Array<{ name: string; p50: number; p99: number }> = [];
  try {
    for (const phase of phases) {
      const sorted = await runPhase(phase);
      rows.push({ name: phase.name, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) });
    }
  } finally {
    mailpit?.stop();
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
  const base = rows[0]!;
  process.stdout.write(`reset-initiate latency, ${REQUESTS} requests per phase, one at a time\n`);
  for (const row of rows) {
    process.stdout.write(
      `${row.name.padEnd(24)} p50 ${row.p50.toFixed(2)} ms (x${(row.p50 / base.p50).toFixed(2)})  p99 ${row.p99.toFixed(2)} ms (x${(row.p99 / base.p99).toFixed(2)})\n`,
    );
  }
  if (!mailpit) process.stdout.write('(Mailpit is not installed: npm run test-servers adds it)\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
