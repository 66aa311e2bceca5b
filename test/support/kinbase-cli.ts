/**
 * The `kinbase` command as users run it (the built dist/src/cli/main.js in a child process), and
 * the few HTTP calls the CLI suites make against a running server to fill and read an app.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
export const CLI_ENTRY = path.join(ROOT, 'dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kinbase <args>` with exactly `env` (plus PATH); resolves when it exits. */
export async function kinbase(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliRun> {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\``);
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { code, stdout, stderr };
}

/** A JSON answer, read loosely as tests read answers. */
export type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

/** A client of one app on one server. */
export class AppClient {
  constructor(
    readonly baseUrl: string,
    readonly appKey: string,
    readonly appSecret: string,
    readonly masterSecret: string,
  ) {}

  get master(): string {
    return basic(this.appKey, this.masterSecret);
  }

  get app(): string {
    return basic(this.appKey, this.appSecret);
  }

  async call(method: string, route: string, auth: string, body?: unknown): Promise<{ status: number; body: Body }> {
    const res = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers: {
        Authorization: auth,
        'X-Kinvey-API-Version': '5',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Signs a user up; returns its id and session auth header. */
  async signup(username: string, password: string): Promise<{ id: string; auth: string }> {
    const res = await this.call('POST', `/user/${this.appKey}`, this.app, { username, password });
    if (res.status !== 201) throw new Error(`signup ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body._id, auth: `Kinvey ${res.body._kmd.authtoken}` };
  }

  /** Creates a file record and uploads its bytes; returns the record as created. */
  async upload(auth: string, meta: Record<string, unknown>, bytes: Buffer): Promise<{ _id: string }> {
    const created = await fetch(`${this.baseUrl}/blob/${this.appKey}`, {
      method: 'POST',
      headers: {
        Authorization: auth,
        'Content-Type': 'application/json',
        'X-Kinvey-Content-Type': 'application/octet-stream',
      },
      body: JSON.stringify({ mimeType: 'application/octet-stream', size: bytes.length, ...meta }),
    });
    const record = (await created.json()) as {
      _id: string;
      _uploadURL: string;
      _requiredHeaders: Record<string, string>;
    };
    if (created.status !== 201) throw new Error(`file create: ${created.status} ${JSON.stringify(record)}`);
    const put = await fetch(record._uploadURL, { method: 'PUT', headers: record._requiredHeaders, body: bytes });
    if (put.status !== 200 && put.status !== 201) throw new Error(`file upload: ${put.status}`);
    return record;
  }

  /** The bytes of a file as a client downloads them (through `_downloadURL`), and its record. */
  async download(auth: string, id: string): Promise<{ record: Body; bytes: Buffer }> {
    const res = await this.call('GET', `/blob/${this.appKey}/${encodeURIComponent(id)}`, auth);
    if (res.status !== 200) throw new Error(`file ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    const bytes = await fetch(res.body._downloadURL as string);
    return { record: res.body, bytes: Buffer.from(await bytes.arrayBuffer()) };
  }
}
