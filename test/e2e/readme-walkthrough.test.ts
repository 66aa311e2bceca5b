/**
 * The README's curl walkthrough, run verbatim (the shell block between the walkthrough markers)
 * against the built server, so the documented journey can never go stale: signup, login, upload,
 * an entity with an avatar reference, the expanded read and the download without credentials.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServerProcess, type ServerProcess } from '../support/server-process';

describe('the README walkthrough', () => {
  let server: ServerProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-walkthrough-'));
    server = await startServerProcess({ KINBASE_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('runs verbatim against the built server and downloads the uploaded bytes', async () => {
    const readme = await readFile(path.resolve(__dirname, '../../README.md'), 'utf8');
    const block = /<!-- walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // The credentials the first start printed, exactly as a reader copies them.
    const key = /app key:\s+(\S+)/.exec(server.output())?.[1];
    const secret = /app secret:\s+(\S+)/.exec(server.output())?.[1];
    expect(key).toBeDefined();
    expect(secret).toBeDefined();
    const run = spawnSync('bash', ['--noprofile', '--norc', '-euo', 'pipefail', '-c', block as string], {
      env: { PATH: process.env.PATH ?? '', APP_KEY: key, APP_SECRET: secret, BASE: server.baseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toBe('hello world\n');
  });
});
