/**
 * Starts versitygw (github.com/versity/versitygw), an S3 gateway over a POSIX directory that
 * verifies SigV4 signatures (header-signed and presigned), as a child process on a free local
 * port, and creates test buckets through the S3 API.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/free-port';
import { S3Client } from '../../src/stores/objects/s3/s3-client';

const START_TIMEOUT_MS = 20_000;
const HOW_TO_FIX =
  'Install the test servers with `npm run test-servers` (needs Go), or put versitygw into $KINBASE_TOOLS_DIR.';

/** The root credentials the test gateway runs with (loopback only, a fresh gateway per run). */
export const TEST_S3_CREDENTIALS = {
  accessKeyId: 'KINBASETESTACCESSKEY',
  secretAccessKey: 'kinbase-test-secret-access-key-0123456789',
  region: 'us-east-1',
} as const;

function goBinDir(): string | undefined {
  try {
    return path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
  } catch {
    return undefined;
  }
}

/** Finds the binary, installing it with scripts/install-test-servers.sh when it is nowhere. */
function findBinary(): string {
  const candidates = [process.env.KINBASE_TOOLS_DIR, goBinDir()].filter((dir): dir is string => !!dir);
  for (const dir of candidates) {
    const bin = path.join(dir, 'versitygw');
    if (existsSync(bin)) return bin;
  }
  const script = path.resolve(__dirname, '../../scripts/install-test-servers.sh');
  try {
    const toolsDir =
      execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
        .trim()
        .split('\n')
        .pop() ?? '';
    const bin = path.join(toolsDir, 'versitygw');
    if (existsSync(bin)) return bin;
  } catch (cause) {
    throw new Error(`versitygw is not installed and installing it failed. ${HOW_TO_FIX}`, { cause });
  }
  throw new Error(`versitygw not found in ${candidates.join(', ') || '(no tools dir)'}. ${HOW_TO_FIX}`);
}

function client(endpoint: string, bucket: string): S3Client {
  return new S3Client({ ...TEST_S3_CREDENTIALS, endpoint, bucket, forcePathStyle: true });
}

/** Whether the gateway answers S3 requests (ListBuckets on a bucket that does not exist is enough). */
async function answers(endpoint: string): Promise<boolean> {
  const s3 = client(endpoint, 'kinbase-probe');
  try {
    await s3.call({ method: 'HEAD', accept: [404] });
    return true;
  } catch {
    return false;
  } finally {
    s3.close();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts versitygw over plain HTTP on 127.0.0.1 with a POSIX backend in a fresh temp dir, and
 * resolves once it answers; `stop` ends the process and removes the dir. Throws (with the tail of
 * its stderr and how to fix it) if it cannot start within ~20 s.
 */
export async function startVersitygw(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const bin = findBinary();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const root = mkdtempSync(path.join(tmpdir(), 'kinbase-versitygw-'));
  const data = path.join(root, 'data');
  const meta = path.join(root, 'meta');
  execFileSync('mkdir', ['-p', data, meta]);
  const child = spawn(
    bin,
    [
      '--access',
      TEST_S3_CREDENTIALS.accessKeyId,
      '--secret',
      TEST_S3_CREDENTIALS.secretAccessKey,
      '--region',
      TEST_S3_CREDENTIALS.region,
      '--port',
      `127.0.0.1:${port}`,
      '--quiet',
      'posix',
      '--sidecar',
      meta,
      data,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    rmSync(root, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null) break;
    if (await answers(endpoint)) return { endpoint, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  const why = spawnError
    ? spawnError.message
    : child.exitCode !== null
      ? `exited with code ${child.exitCode}`
      : `did not answer within ${START_TIMEOUT_MS} ms`;
  throw new Error(
    `versitygw (${bin}) ${why} on ${endpoint}.\n--- stderr tail ---\n${stderr.trim() || '(empty)'}\n---\n${HOW_TO_FIX}`,
  );
}

/** The versitygw of this run (from globalSetup); throws if there is none (never skipped). */
export function testS3Endpoint(): string {
  const endpoint = process.env.KINBASE_TEST_S3_ENDPOINT;
  if (!endpoint)
    throw new Error(
      'KINBASE_TEST_S3_ENDPOINT is not set: the jest globalSetup must start versitygw (npm run test-servers).',
    );
  return endpoint;
}

/** Creates a fresh bucket on the gateway (CreateBucket through the S3 API) and returns its name. */
export async function createTestS3Bucket(endpoint: string): Promise<string> {
  const bucket = `kinbase-test-${randomBytes(6).toString('hex')}`;
  const s3 = client(endpoint, bucket);
  try {
    await s3.call({ method: 'PUT' });
  } finally {
    s3.close();
  }
  return bucket;
}
