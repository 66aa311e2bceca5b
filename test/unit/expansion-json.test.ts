/**
 * The app's res.json with expansions serialized once per response (src/http/presenters/expansion-json.ts),
 * through a real Express app and HTTP: the body equals plain JSON.stringify of the expanded
 * documents, values that merely look like markers are sent as they are, and responses without
 * markers are untouched.
 */
import express, { type Response } from 'express';
import request from 'supertest';
import { expansionAwareJson, serializeOncePer } from '../../src/http/presenters/expansion-json';

const avatar = Object.freeze({
  _type: 'KinveyFile',
  _id: 'a"\\/\u2028',
  _filename: 'ü "quoted".png',
  size: 3,
  _acl: { creator: 'u1' },
  _downloadURL: 'http://x/y?sig=1&e=2',
});
const banner = Object.freeze({ _type: 'KinveyFile', _id: 'b', custom: [1, null, { deep: true }] });

function appSending(build: (res: Response) => unknown) {
  const app = express();
  expansionAwareJson(app);
  app.get('/', (_req, res) => {
    res.json(build(res));
  });
  return app;
}

describe('expansion-aware res.json', () => {
  test('markers at many sites become exactly the JSON of their expansion', async () => {
    const expected = Array.from({ length: 50 }, (_, i) => ({
      _id: `e${i}`,
      avatar,
      nested: { list: [banner, avatar, 'x'] },
    }));
    const app = appSending((res) => {
      const place = serializeOncePer(res);
      const [a, b] = [place(avatar), place(banner)];
      return Array.from({ length: 50 }, (_, i) => ({ _id: `e${i}`, avatar: a, nested: { list: [b, a, 'x'] } }));
    });
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBe(JSON.stringify(expected));
  });

  test('stored strings shaped like markers (with a guessed token) are sent unchanged', async () => {
    const fake = `\u0000kinbase-expansion-${'0'.repeat(32)}:0`;
    const body = { fake, also: `"${fake}"`, list: [fake] };
    const app = appSending((res) => ({ ...body, real: serializeOncePer(res)(banner) }));
    const res = await request(app).get('/');
    expect(JSON.parse(res.text)).toEqual({ ...body, real: banner });
  });

  test('a response that placed no markers is plain JSON, and an explicit Content-Type is kept', async () => {
    const app = express();
    expansionAwareJson(app);
    app.get('/plain', (_req, res) => {
      res.status(201).json({ n: 1, s: '\u0000kinbase-expansion-x:0' });
    });
    app.get('/typed', (_req, res) => {
      res.type('application/vnd.test+json').json([1]);
    });
    const plain = await request(app).get('/plain');
    expect(plain.status).toBe(201);
    expect(plain.body).toEqual({ n: 1, s: '\u0000kinbase-expansion-x:0' });
    const typed = await request(app).get('/typed');
    expect(typed.headers['content-type']).toMatch(/^application\/vnd\.test\+json/);
    expect(typed.text).toBe('[1]');
  });
});
