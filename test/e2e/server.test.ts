/** The built server as users run it: `npm start` on the embedded defaults. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/node-flags';
import { runServerToExit, startServerProcess } from '../support/server-process';

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

function credentialsFrom(output: string): { appKey: string; appSecret: string; masterSecret: string } {
  const grab = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(output)?.[1] ?? '';
  return { appKey: grab('app key'), appSecret: grab('app secret'), masterSecret: grab('master secret') };
}

describe('the server process on embedded defaults', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-e2e-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('first start generates an app, prints its credentials and serves the handshake; a restart reuses it', async () => {
    const first = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    const creds = credentialsFrom(first.output());
    expect(creds.appKey).toMatch(/^kid_[a-z0-9]{12}$/);
    expect(first.output()).toContain('generated a new app');
    // PORT=0: the URLs handed to clients name the port actually bound.
    expect(first.output()).toContain(`serving at http://localhost:${new URL(first.baseUrl).port} `);
    const ping = await fetch(`${first.baseUrl}/appdata/${creds.appKey}`, {
      headers: { Authorization: basic(creds.appKey, creds.appSecret) },
    });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ kinvey: 'hello kinbase', appName: 'kinbase' });
    const master = await fetch(`${first.baseUrl}/appdata/${creds.appKey}`, {
      headers: { Authorization: basic(creds.appKey, creds.masterSecret) },
    });
    expect(master.status).toBe(200);
    expect(await first.stop()).toBe(0);

    const kept = JSON.parse(await readFile(path.join(dataDir, 'apps.json'), 'utf8'));
    expect(kept[0].appKey).toBe(creds.appKey);

    const second = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    expect(credentialsFrom(second.output())).toEqual(creds);
    expect(second.output()).not.toContain('generated a new app');
    const again = await fetch(`${second.baseUrl}/appdata/${creds.appKey}`, {
      headers: { Authorization: basic(creds.appKey, creds.appSecret) },
    });
    expect(again.status).toBe(200);
    expect(await second.stop('SIGINT')).toBe(0);
  });

  test('SIGTERM lets an in-flight request finish before the process exits', async () => {
    const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    const { appKey, masterSecret } = credentialsFrom(server.output());
    const body = JSON.stringify({ note: 'sent across a shutdown' });
    // Send half the body, deliver SIGTERM while the request is in flight, then finish it.
    const req = request(`${server.baseUrl}/appdata/${appKey}/notes`, {
      method: 'POST',
      headers: {
        Authorization: basic(appKey, masterSecret),
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 300));
    const exit = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(server.child.exitCode).toBeNull(); // still finishing the request
    req.end(body.slice(10));
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ note: 'sent across a shutdown' });
    expect(await exit).toBe(0);
  });

  test('npm start on a built tree does not build again (prestart only builds when a source is newer than dist/)', async () => {
    const pkg = JSON.parse(await readFile(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.prestart).toBe('node scripts/build-if-stale.js');
    const stamp = path.resolve(__dirname, '../../dist/.build-stamp');
    const before = (await stat(stamp)).mtimeMs;
    const result = spawnSync(process.execPath, [path.resolve(__dirname, '../../scripts/build-if-stale.js')], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect((await stat(stamp)).mtimeMs).toBe(before);
  });

  test('a port already in use is one line naming the port and PORT, exit 1, no stack trace', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const { code, output } = await runServerToExit({ KINBASE_DATA_DIR: dataDir, PORT: String(taken) });
      expect(code).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${taken}`);
      expect(lines[0]).toContain('PORT');
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('kinbase listens on loopback unless KINBASE_HOST says otherwise, and says so', async () => {
    const server = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    expect(server.output()).toContain('listening on 127.0.0.1 only');
    expect(await server.stop()).toBe(0);
    const everywhere = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_HOST: '0.0.0.0' });
    expect(everywhere.output()).toContain('listening on every interface');
    expect(await everywhere.stop()).toBe(0);
    const { code, output } = await runServerToExit({ KINBASE_DATA_DIR: dataDir, PORT: '0', KINBASE_HOST: '::2' });
    expect(code).toBe(1);
    expect(output).toContain('KINBASE_HOST');
  });

  test('the start log says whether mail is on (naming only the SMTP host, never its password) or off', async () => {
    const off = await startServerProcess({ KINBASE_DATA_DIR: dataDir, KINBASE_LOG_LEVEL: 'info' });
    expect(off.output()).toContain('mail is off (no KINBASE_SMTP_URL)');
    expect(await off.stop()).toBe(0);
    const on = await startServerProcess({
      KINBASE_DATA_DIR: dataDir,
      KINBASE_LOG_LEVEL: 'info',
      KINBASE_SMTP_URL: 'smtp://mailer:hunter2@mail.example.test:587',
      KINBASE_MAIL_FROM: 'Shop <no-reply@example.test>',
    });
    expect(on.output()).toContain('mail is on');
    expect(on.output()).toContain('"smtpHost":"mail.example.test:587"');
    expect(on.output()).not.toContain('hunter2');
    expect(await on.stop()).toBe(0);
  });

  test('a wrong configuration value stops the start with a message naming the variable', async () => {
    const { code, output } = await runServerToExit({
      KINBASE_DATA_DIR: dataDir,
      KINBASE_STORAGE: 'floppy',
      PORT: 'abc',
    });
    expect(code).toBe(2);
    expect(output).toContain('KINBASE_STORAGE');
    expect(output).toContain('PORT');
  });

  test('npm start passes the node flags kinbase needs; started without them it says which are missing', async () => {
    const pkg = JSON.parse(await readFile(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    for (const flag of NODE_FLAGS) expect(pkg.scripts.start.split(' ')).toContain(flag);

    const tuned = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
    expect(await tuned.stop()).toBe(0);
    expect(tuned.output()).not.toContain('started without');

    const bare = await startServerProcess({ KINBASE_DATA_DIR: dataDir }, { nodeArgs: [] });
    expect(await bare.stop()).toBe(0);
    const warning = bare
      .output()
      .split('\n')
      .find((line) => line.includes('started without'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, missing: [...NODE_FLAGS] });
  });
});
