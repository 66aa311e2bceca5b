/**
 * The client side of the running server's control socket (src/control-socket.ts): `kinbase backup`
 * and `kinbase export` reach an embedded store that a running server holds through it.
 */
import { connect } from 'node:net';
import path from 'node:path';
import { CONTROL_SOCKET } from '../control-socket';
import { CliError } from './output';

/** Asks the running server to back up; false when none listens on the data dir. */
export async function backupThroughServer(dataDir: string, file: string): Promise<boolean> {
  const socketPath = path.join(dataDir, CONTROL_SOCKET);
  const reply = await new Promise<string | null>((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ op: 'backup', file })}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? resolve(null) : reject(err),
    );
  });
  if (reply === null) return false;
  const answer = JSON.parse(reply) as { ok: boolean; error?: string };
  if (!answer.ok) throw new CliError(`the running server could not back up: ${answer.error}`);
  return true;
}
