/**
 * The running server's control socket, `<dataDir>/control.sock` (mode 0600 in the 0700 data dir:
 * only the data dir's owner reaches it), through which `kinbase backup` asks for an online backup
 * of the embedded store, which the server alone may open while it runs. One JSON line in
 * (`{"op":"backup","file":"/abs/path"}`), one JSON line out (`{"ok":true}` or `{"ok":false,"error"}`).
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';

export const CONTROL_SOCKET = 'control.sock';

export interface ControlHandlers {
  backup(file: string): Promise<void>;
}

/** Listens on the data dir's control socket (replacing a stale one); close() stops it. */
export async function listenControlSocket(dataDir: string, handlers: ControlHandlers): Promise<Server> {
  const file = path.join(dataDir, CONTROL_SOCKET);
  await rm(file, { force: true });
  const server = createServer((socket) => {
    let input = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      input += chunk;
      if (input.length > 8192) socket.destroy();
      const nl = input.indexOf('\n');
      if (nl === -1) return;
      void answer(input.slice(0, nl)).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
    socket.on('error', () => undefined);
  });
  const answer = async (line: string): Promise<{ ok: boolean; error?: string }> => {
    try {
      const request = JSON.parse(line) as { op?: unknown; file?: unknown };
      if (request.op !== 'backup' || typeof request.file !== 'string' || !path.isAbsolute(request.file))
        return { ok: false, error: 'unknown request' };
      await handlers.backup(request.file);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, resolve);
  });
  await chmod(file, 0o600);
  server.unref();
  return server;
}
