/**
 * The baseline for bench/files-throughput.ts: the simplest correct node:http server that streams
 * a PUT body to a file and a GET back from it. No auth, no signatures, no metadata.
 * Usage: node dist/bench/files-baseline-server.js <dir> <port>
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const [dir = '.', port = '0'] = process.argv.slice(2);
const fileOf = (url: string | undefined) => path.join(dir, (url ?? '/').replace(/[^A-Za-z0-9]/g, '_'));

const server = createServer((req, res) => {
  const file = fileOf(req.url);
  if (req.method === 'PUT') {
    pipeline(req, createWriteStream(file)).then(
      () => res.writeHead(200).end(),
      () => res.writeHead(500).end(),
    );
    return;
  }
  stat(file)
    .then((s) => {
      res.writeHead(200, { 'Content-Length': String(s.size), 'Content-Type': 'application/octet-stream' });
      return pipeline(createReadStream(file), res);
    })
    .catch(() => (res.headersSent ? res.destroy() : res.writeHead(404).end()));
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
