/**
 * A failing request on a signed URL must not write the signature to the error log: a signed URL
 * is a bearer capability until it expires. Neither the logged URL nor the logged error text
 * (driver errors often quote the URL they were given) may carry it.
 */
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { errorHandler } from '../../src/http/middleware/errors';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

test('an unexpected error on a signed URL is logged without the signature, in the URL and in the error text', async () => {
  const log = capture();
  const app = express();
  app.get('/storage/download/*key', (req) => {
    throw new Error(
      `upstream failed for https://storage.example/${String(req.params.key)}?X-Goog-Signature=abcdef0123&X-Goog-Credential=svc%40x and ${req.originalUrl}`,
    );
  });
  app.use(errorHandler(log.logger));
  const res = await request(app).get('/storage/download/app/obj?expires=123&signature=deadbeefcafe');
  expect(res.status).toBe(500);
  expect(res.body.error).toBe('KinveyInternalErrorRetry');
  const text = JSON.stringify(log.lines);
  expect(log.lines).toHaveLength(1);
  expect(text).not.toContain('deadbeefcafe');
  expect(text).not.toContain('abcdef0123');
  expect(text).not.toContain('svc%40x');
  expect(text).toContain('signature=[redacted]');
  expect(log.lines[0]).toMatchObject({ url: '/storage/download/app/obj?expires=123&signature=[redacted]' });
});

test('a broken percent-escape in a path is a 400 BadRequest, not a logged 500', async () => {
  const log = capture();
  const app = express();
  app.get('/user/:appKey/:id', (_req, res) => res.json({}));
  app.use(errorHandler(log.logger));
  const res = await request(app).get('/user/kid/%ZZ');
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('BadRequest');
  expect(log.lines).toEqual([]);
});
