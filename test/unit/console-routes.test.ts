import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { consoleOrigins, consolePolicy, consoleRoutes } from '../../src/http/routes/console/console.routes';
import { loadConfig } from '../../src/config/load-config';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

describe("the console's static files", () => {
  let dir: string;
  let app: express.Express;
  beforeAll(() => {
    dir = makeTempDir('kinbase-console-files-');
    const built = path.join(dir, 'console');
    mkdirSync(built);
    writeFileSync(path.join(built, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(path.join(built, 'app.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'secret.txt'), 'not for the browser');
    app = express();
    app.use(consoleRoutes(built, ['http://localhost:8080']));
  });
  afterAll(() => removeTempDir(dir));

  test('the page comes with a CSP that allows no inline script, no framing and no other origins', async () => {
    const answer = await request(app).get('/console/').expect(200);
    expect(answer.type).toBe('text/html');
    const policy = answer.headers['content-security-policy'];
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("connect-src 'self' http://localhost:8080");
    expect(policy).not.toMatch(/unsafe-|\*/);
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });

  test('/console redirects to /console/ relative to where kinbase is mounted, keeping the query', async () => {
    const answer = await request(app).get('/console?x=1').expect(301);
    expect(answer.headers.location).toBe('console/?x=1');
  });

  test('scripts are served with their type and revalidated by ETag', async () => {
    const first = await request(app).get('/console/app.js').expect(200);
    expect(first.type).toBe('text/javascript');
    expect(first.headers['cache-control']).toBe('no-cache');
    await request(app)
      .get('/console/app.js')
      .set('If-None-Match', first.headers.etag as string)
      .expect(304);
  });

  test.each([
    '../secret.txt',
    '..%2fsecret.txt',
    '%2e%2e%2fsecret.txt',
    'secret.txt',
    '__proto__',
    'constructor',
    'index.html%00',
  ])("only the console's own files are served: %s is 404", async (name) => {
    const answer = await request(app).get(`/console/${name}`);
    expect(answer.status).toBe(404);
    expect(answer.text).not.toContain('not for the browser');
  });

  test('a missing build says what to run', async () => {
    const empty = express();
    empty.use(consoleRoutes(path.join(dir, 'nothing-here'), []));
    const answer = await request(empty).get('/console/').expect(404);
    expect(answer.text).toContain('npm run build');
  });

  test("with GCS storage, the bucket's origin may be fetched and shown, and nothing else", () => {
    expect(consoleOrigins('https://api.example.com/kinbase', { kind: 'gcs', bucket: 'b' })).toEqual([
      'https://api.example.com',
      'https://storage.googleapis.com',
    ]);
    expect(
      consoleOrigins('http://localhost:8080', {
        kind: 'gcs',
        bucket: 'b',
        apiEndpoint: 'http://127.0.0.1:4443/storage',
      }),
    ).toEqual(['http://localhost:8080', 'http://127.0.0.1:4443']);
    expect(consolePolicy(['https://a.example'])).toContain("img-src 'self' blob: data: https://a.example;");
  });

  test("with S3 storage, the bucket's origin (virtual host or path style) and S3_PUBLIC_URL's may be fetched", () => {
    const s3 = { kind: 's3', bucket: 'files', region: 'eu-west-1', accessKeyId: 'a', secretAccessKey: 's' } as const;
    expect(consoleOrigins('https://api.example.com', { ...s3, forcePathStyle: false })).toEqual([
      'https://api.example.com',
      'https://files.s3.eu-west-1.amazonaws.com',
    ]);
    expect(
      consoleOrigins('https://api.example.com', {
        ...s3,
        endpoint: 'https://acc.r2.cloudflarestorage.com',
        forcePathStyle: true,
        publicUrl: 'https://cdn.example.com/media',
      }),
    ).toEqual(['https://api.example.com', 'https://acc.r2.cloudflarestorage.com', 'https://cdn.example.com']);
  });

  test('KINBASE_CONSOLE=off turns the console off; it is on by default; other values are refused', () => {
    expect(loadConfig({}).console).toBe(true);
    expect(loadConfig({ KINBASE_CONSOLE: 'off' }).console).toBe(false);
    expect(() => loadConfig({ KINBASE_CONSOLE: 'maybe' })).toThrow(/KINBASE_CONSOLE/);
  });
});
