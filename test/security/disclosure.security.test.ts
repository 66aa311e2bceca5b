/**
 * What an anonymous caller can learn without any secret: not the console's sources (a build for
 * use ships no source map), and from /admin nothing about which apps exist that every other route
 * does not tell alike, as Kinvey's did (app keys ship inside every client; the secrets guard an app).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { consoleRoutes } from '../../src/http/routes/console/console.routes';
import { startTestApp, type TestApp } from '../support/test-app';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { build } = require('../../console/build.js') as {
  build: (options?: { outDir?: string; sourceMap?: boolean }) => Promise<void>;
};

describe('the console build', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('kinbase-console-build-');
  });
  afterAll(() => removeTempDir(dir));

  test('a build for use ships no source map: /console/app.js.map is 404 and app.js names none', async () => {
    const out = path.join(dir, 'use');
    await build({ outDir: out });
    expect(existsSync(path.join(out, 'app.js'))).toBe(true);
    expect(readdirSync(out).filter((name) => name.endsWith('.map'))).toEqual([]);
    expect(readFileSync(path.join(out, 'app.js'), 'utf8')).not.toContain('sourceMappingURL');
    const app = express().use(consoleRoutes(out, []));
    expect((await request(app).get('/console/app.js')).status).toBe(200);
    expect((await request(app).get('/console/app.js.map')).status).toBe(404);
  });

  test('a debugging build (--source-map) has one, served beside app.js', async () => {
    const out = path.join(dir, 'debug');
    await build({ outDir: out, sourceMap: true });
    const app = express().use(consoleRoutes(out, []));
    expect(readFileSync(path.join(out, 'app.js'), 'utf8')).toContain('sourceMappingURL=app.js.map');
    const map = await request(app).get('/console/app.js.map');
    expect(map.status).toBe(200);
    expect(JSON.parse(map.text)).toMatchObject({ version: 3 });
  });
});

describe('which app keys exist', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  test('an anonymous caller probing /admin for app keys learns no more than from any other route: 401 for a known key, 404 for an unknown one, alike', async () => {
    for (const route of [
      '/appdata/{app}',
      '/appdata/{app}/books',
      '/user/{app}/_me',
      '/blob/{app}/x',
      '/admin/{app}/server',
      '/admin/{app}/collections',
    ]) {
      const known = await request(t.app).get(route.replace('{app}', t.appKey));
      const unknown = await request(t.app).get(route.replace('{app}', 'kid_nosuchapp'));
      expect([route, known.status, unknown.status, unknown.body.error]).toEqual([route, 401, 404, 'AppNotFound']);
    }
  });
});
