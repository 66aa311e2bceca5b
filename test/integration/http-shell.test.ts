/** The HTTP shell every route shares: handshake, Kinvey headers, CORS, error rendering. */
import pino from 'pino';
import request from 'supertest';
import { StoreError, type DocumentStore } from '../../src/domain/ports';
import { basic, startTestApp, type TestApp } from '../support/test-app';

describe('HTTP shell', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test.each([
    ['app', () => t.appAuth],
    ['master', () => t.masterAuth],
  ])('the handshake answers %s credentials', async (_kind, auth) => {
    const res = await request(t.app).get(`/appdata/${t.appKey}`).set('Authorization', auth()).expect(200);
    expect(res.body).toEqual({
      version: expect.any(String),
      kinvey: 'hello Test App',
      appName: 'Test App',
      environmentName: expect.any(String),
    });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('the handshake tolerates a trailing slash', async () => {
    await request(t.app).get(`/appdata/${t.appKey}/`).set('Authorization', t.appAuth).expect(200);
  });

  test.each([
    ['a wrong secret', 401, 'InvalidCredentials', () => basic(t.appKey, 'wrong-secret')],
    ['no credentials', 401, 'InvalidCredentials', () => ''],
    ['malformed Basic credentials', 401, 'InvalidCredentials', () => 'Basic !!!'],
    ['an unknown scheme', 401, 'InvalidCredentials', () => 'Bearer abc'],
  ])('the handshake with %s is %i %s', async (_what, status, error, auth) => {
    const req = request(t.app).get(`/appdata/${t.appKey}`);
    const res = await (auth() ? req.set('Authorization', auth()) : req).expect(status);
    expect(res.body).toEqual({ error, description: expect.any(String), debug: expect.any(String) });
  });

  test('an unknown app key is 404 AppNotFound', async () => {
    const res = await request(t.app)
      .get('/appdata/kid_unknown')
      .set('Authorization', basic('kid_unknown', 'x'))
      .expect(404);
    expect(res.body.error).toBe('AppNotFound');
  });

  test('the anonymous ping of the 1.x library answers hello', async () => {
    const res = await request(t.app).get('/appdata/').expect(200);
    expect(res.body).toMatchObject({ kinvey: 'hello' });
  });

  test('every response carries X-Kinvey-Request-Id, errors too, and a client id is echoed', async () => {
    const ok = await request(t.app).get(`/appdata/${t.appKey}`).set('Authorization', t.appAuth);
    const err = await request(t.app).get('/nowhere');
    const echoed = await request(t.app)
      .get(`/appdata/${t.appKey}`)
      .set('Authorization', t.appAuth)
      .set('X-Kinvey-Request-Id', 'client-id-1');
    expect(ok.headers['x-kinvey-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(err.headers['x-kinvey-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(ok.headers['x-kinvey-request-id']).not.toBe(err.headers['x-kinvey-request-id']);
    expect(echoed.headers['x-kinvey-request-id']).toBe('client-id-1');
  });

  test('unknown routes are 404 in the Kinvey error shape', async () => {
    const res = await request(t.app).get('/nowhere/at/all').expect(404);
    expect(res.body).toEqual({ error: 'NotFound', description: expect.any(String), debug: 'GET /nowhere/at/all' });
  });

  test('CORS preflight allows the Kinvey headers and exposes the ones SDKs read', async () => {
    const res = await request(t.app)
      .options(`/appdata/${t.appKey}/things`)
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, x-kinvey-api-version')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-headers']).toMatch(/authorization/i);
    expect(res.headers['access-control-allow-methods']).toMatch(/PUT/);
    const get = await request(t.app)
      .get(`/appdata/${t.appKey}`)
      .set('Origin', 'https://app.example.com')
      .set('Authorization', t.appAuth);
    for (const h of ['X-Kinvey-Request-Start', 'X-Kinvey-Request-Id', 'X-Kinvey-API-Version', 'Location', 'Range']) {
      expect(get.headers['access-control-expose-headers']).toContain(h);
    }
  });

  test('malformed JSON is 400 JSONParseError', async () => {
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .set('Authorization', t.masterAuth)
      .set('Content-Type', 'application/json')
      .send('{"a": ')
      .expect(400);
    expect(res.body.error).toBe('JSONParseError');
  });

  test('a body over the size limit gets a clear error', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(6 * 1024 * 1024) });
    const res = await request(t.app)
      .post(`/appdata/${t.appKey}/things`)
      .set('Authorization', t.masterAuth)
      .set('Content-Type', 'application/json')
      .send(big)
      .expect(413);
    expect(res.body).toMatchObject({ error: 'BadRequest', description: expect.stringContaining('larger') });
  });
});

describe('unexpected errors', () => {
  test('are 500 KinveyInternalErrorRetry and never leak the cause; a store that is down is 503 with Retry-After', async () => {
    const failing = (store: DocumentStore): DocumentStore =>
      Object.assign(Object.create(store) as DocumentStore, {
        find: async () => {
          throw new Error('secret connection string mongodb://admin:hunter2@db');
        },
        count: async () => {
          throw new StoreError('unavailable', 'database down');
        },
      });
    const t = await startTestApp({ wrapDocuments: failing });
    try {
      const res = await request(t.app)
        .get(`/appdata/${t.appKey}/things`)
        .set('Authorization', t.masterAuth)
        .expect(500);
      expect(res.body).toEqual({ error: 'KinveyInternalErrorRetry', description: expect.any(String), debug: '' });
      expect(JSON.stringify(res.body)).not.toContain('hunter2');
      const down = await request(t.app)
        .get(`/appdata/${t.appKey}/things/_count`)
        .set('Authorization', t.masterAuth)
        .expect(503);
      expect(down.body).toEqual({ error: 'KinveyInternalErrorRetry', description: expect.any(String), debug: '' });
      expect(down.headers['retry-after']).toBe('1');
    } finally {
      await t.close();
    }
  });
});

describe('a document store that is down', () => {
  // Every route meets the store through the same error mapping, so each answers what the Files API
  // always answered for a storage outage: 503 KinveyInternalErrorRetry with Retry-After, never 500.
  test.each([
    ['list entities', 'get', (t: TestApp) => `/appdata/${t.appKey}/things`],
    ['count entities', 'get', (t: TestApp) => `/appdata/${t.appKey}/things/_count`],
    ['save an entity', 'post', (t: TestApp) => `/appdata/${t.appKey}/things`],
    ['list users', 'get', (t: TestApp) => `/user/${t.appKey}`],
    ['list files', 'get', (t: TestApp) => `/blob/${t.appKey}`],
    ['read a group', 'get', (t: TestApp) => `/group/${t.appKey}/g1`],
  ] as const)('%s: 503 KinveyInternalErrorRetry with Retry-After, never 500', async (_what, method, path) => {
    const t = await startTestApp({ documents: 'embedded' });
    try {
      await t.documents.close();
      const res = await request(t.app)[method](path(t)).set('Authorization', t.masterAuth).send({ n: 1 });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        error: 'KinveyInternalErrorRetry',
        description: expect.stringContaining('data store'),
        debug: '',
      });
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await t.close();
    }
  });
});

describe('access log', () => {
  test('one line per request with method, path, status and id, but no credentials and no URL signatures', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const t = await startTestApp({ logger });
    try {
      await request(t.app).get(`/appdata/${t.appKey}`).set('Authorization', t.masterAuth).expect(200);
      const meta = await request(t.app)
        .post(`/blob/${t.appKey}`)
        .set('Authorization', t.masterAuth)
        .send({ size: 3, mimeType: 'text/plain' })
        .expect(201);
      const upload = await fetch(meta.body._uploadURL, {
        method: 'PUT',
        headers: { 'Content-Type': 'text/plain' },
        body: 'abc',
      });
      expect(upload.status).toBe(200);
      const file = await request(t.app)
        .get(`/blob/${t.appKey}/${meta.body._id}`)
        .set('Authorization', t.masterAuth)
        .expect(200);
      const download = await fetch(file.body._downloadURL);
      expect(download.status).toBe(200);
      await download.arrayBuffer();
      // A line is written when its response finishes, which can be just after the client has it.
      const completedLines = () => lines.filter((line) => line.msg === 'request completed');
      for (let waited = 0; completedLines().length < 5 && waited < 2000; waited += 10)
        await new Promise((r) => setTimeout(r, 10));

      const text = lines.map((line) => JSON.stringify(line)).join('\n');
      const secrets = [
        t.masterSecret,
        t.masterAuth,
        t.masterAuth.replace('Basic ', ''),
        new URL(meta.body._uploadURL).searchParams.get('signature')!,
        new URL(file.body._downloadURL).searchParams.get('signature')!,
      ];
      for (const secret of secrets) expect(text).not.toContain(secret);
      const completed = completedLines();
      const summary = (line: Record<string, unknown>) =>
        `${(line.req as { method: string }).method} ${(line.res as { statusCode: number }).statusCode}`;
      expect(completed.map(summary).sort()).toEqual(['GET 200', 'GET 200', 'GET 200', 'POST 201', 'PUT 200']);
      const logged = completed
        .map((line) => line.req as { url: string; id: string })
        .find((req) => req.url.startsWith('/storage/download/'))!;
      expect(logged.url).toMatch(/^\/storage\/download\/.+[?&]signature=\[redacted\]/);
      expect(logged.id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await t.close();
    }
  });
});
