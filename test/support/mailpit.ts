/**
 * Starts Mailpit (github.com/axllent/mailpit), a real SMTP server that keeps what it receives and
 * lists it over an HTTP API, as a child process of the test file on free local ports. A suite
 * starts one in beforeAll and stops it in afterAll; each test mails its own fresh addresses, so
 * tests never read each other's mails.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../bench/free-port';
import { makeTempDir, removeTempDir } from './temp-dirs';

const START_TIMEOUT_MS = 20_000;
const HOW_TO_FIX =
  'Install the test servers with `npm run test-servers` (needs Go), or put mailpit into $KINBASE_TOOLS_DIR.';

/** One received mail as Mailpit's API gives it. */
export interface ReceivedMail {
  readonly id: string;
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface Mailpit {
  /** KINBASE_SMTP_URL for kinbase: plain SMTP (Mailpit offers no STARTTLS without a certificate). */
  readonly smtpUrl: string;
  /** Every mail received for `address`, oldest first. */
  mailsTo(address: string): Promise<ReceivedMail[]>;
  /** Waits until `count` mails for `address` arrived (mail is sent in the background), then returns them. */
  waitForMails(address: string, count?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

function findBinary(): string {
  const dirs = [process.env.KINBASE_TOOLS_DIR];
  try {
    dirs.push(path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin'));
  } catch {
    // No Go: only KINBASE_TOOLS_DIR.
  }
  for (const dir of dirs) if (dir && existsSync(path.join(dir, 'mailpit'))) return path.join(dir, 'mailpit');
  const script = path.resolve(__dirname, '../../scripts/install-test-servers.sh');
  try {
    const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const bin = path.join(out.trim().split('\n').pop() ?? '', 'mailpit');
    if (existsSync(bin)) return bin;
  } catch (cause) {
    throw new Error(`mailpit is not installed and installing it failed. ${HOW_TO_FIX}`, { cause });
  }
  throw new Error(`mailpit not found. ${HOW_TO_FIX}`);
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

interface ApiSummary {
  ID: string;
}
interface ApiMessage {
  ID: string;
  From: { Address: string };
  To: Array<{ Address: string }>;
  Subject: string;
  Text: string;
  HTML: string;
}

/** Starts Mailpit and resolves once its API answers; throws (with its stderr tail and how to fix it) otherwise. */
export async function startMailpit(): Promise<Mailpit> {
  const bin = findBinary();
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const dir = makeTempDir('kinbase-mailpit-');
  const api = `http://127.0.0.1:${httpPort}/api/v1`;
  const child = spawn(
    bin,
    [
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--database',
      path.join(dir, 'mailpit.db'),
      // kinbase may log in with the URL's user and password: any is accepted, over plain SMTP too.
      '--smtp-auth-accept-any',
      '--smtp-auth-allow-insecure',
      '--disable-version-check',
      '--quiet',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const stop = async () => {
    await stopProcess(child);
    removeTempDir(dir);
  };

  const get = async <T>(pathname: string): Promise<T> => {
    const res = await fetch(`${api}${pathname}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`mailpit ${pathname} answered ${res.status}`);
    return (await res.json()) as T;
  };
  const mailsTo = async (address: string): Promise<ReceivedMail[]> => {
    const list = await get<{ messages: ApiSummary[] }>(
      `/search?query=${encodeURIComponent(`to:"${address}"`)}&limit=500`,
    );
    const mails = await Promise.all(list.messages.map((m) => get<ApiMessage>(`/message/${m.ID}`)));
    return mails.reverse().map((m) => ({
      id: m.ID,
      from: m.From.Address,
      to: m.To.map((t) => t.Address),
      subject: m.Subject,
      text: m.Text.replace(/\r\n/g, '\n'),
      html: m.HTML.replace(/\r\n/g, '\n'),
    }));
  };
  const waitForMails = async (address: string, count = 1): Promise<ReceivedMail[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const mails = await mailsTo(address);
      if (mails.length >= count) return mails;
      if (Date.now() > deadline)
        throw new Error(`mailpit received ${mails.length} mail(s) for ${address}, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null) break;
    try {
      await get('/info');
      return { smtpUrl: `smtp://kinbase:secret@127.0.0.1:${smtpPort}`, mailsTo, waitForMails, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await stop();
  const why = spawnError
    ? spawnError.message
    : child.exitCode !== null
      ? `exited with code ${child.exitCode}`
      : 'did not answer';
  throw new Error(`mailpit (${bin}) ${why}.\n--- stderr tail ---\n${stderr.trim() || '(empty)'}\n---\n${HOW_TO_FIX}`);
}

/** The first link of a mail's plain-text part that starts with `prefix`. Throws when there is none. */
export function linkIn(mail: ReceivedMail, prefix: string): string {
  const found = mail.text.split(/\s+/).find((word) => word.startsWith(prefix));
  if (!found) throw new Error(`no link starting with ${prefix} in the mail "${mail.subject}":\n${mail.text}`);
  return found;
}
