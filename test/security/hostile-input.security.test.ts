/**
 * Hostile requests over every route: broken percent-escapes, lying encodings, lone surrogates,
 * oversized and over-nested bodies, odd headers, each credential kind. Every one must be a 4xx
 * Kinvey error (never a 5xx), must leave nothing half-created, and must not be logged at error
 * level (an error-level line is how operators learn about bugs).
 */
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { DOCUMENT_STORES, startTestApp, type TestApp } from '../support/test-app';

interface Hostile {
  name: string;
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  /** 'user', 'app', 'master', 'none', or a raw Authorization header value. */
  as?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A raw body (sent as given) or a value sent as JSON. */
  raw?: string | Buffer;
  status?: number;
}

const LONE = '\ud800';
const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const deepQuery = (n: number) => `${'{"$and":['.repeat(n)}{"x":1}${']}'.repeat(n)}`;
const wide = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;

const HOSTILE: Hostile[] = [
  // Broken percent-escapes in each path part
  { name: 'bad escape in a user id', method: 'get', path: '/user/{app}/%ZZ', status: 400 },
  { name: 'bad escape in an entity id', method: 'get', path: '/appdata/{app}/things/%ZZ', status: 400 },
  { name: 'bad escape in a collection', method: 'get', path: '/appdata/{app}/%E0%A4%A', status: 400 },
  { name: 'bad escape in a file id', method: 'delete', path: '/blob/{app}/%C0%AF', status: 400 },
  { name: 'bad escape in the app key', method: 'get', path: '/appdata/%ZZ/things', status: 400 },
  { name: 'bad escape in a group id', method: 'get', path: '/group/{app}/%', status: 400 },
  {
    name: 'encoded lone surrogate in an entity id',
    method: 'get',
    path: '/appdata/{app}/things/%ED%A0%80',
    status: 400,
  },
  { name: 'bad escape in a storage download key', method: 'get', path: '/storage/download/%ZZ', as: 'none' },
  // Encodings that lie
  {
    name: 'gzip that is not gzip',
    method: 'post',
    path: '/appdata/{app}/things',
    headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' },
    raw: '{"a":1}',
    status: 400,
  },
  {
    name: 'deflate that is not deflate',
    method: 'post',
    path: '/appdata/{app}/things',
    headers: { 'Content-Encoding': 'deflate', 'Content-Type': 'application/json' },
    raw: '{"a":1}',
    status: 400,
  },
  {
    name: 'an unknown content encoding',
    method: 'post',
    path: '/appdata/{app}/things',
    headers: { 'Content-Encoding': 'x-rot13', 'Content-Type': 'application/json' },
    raw: '{"a":1}',
  },
  {
    name: 'a gzip bomb header on a tiny body',
    method: 'post',
    path: '/appdata/{app}/things',
    headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' },
    raw: gzipSync(Buffer.from('{"a":')),
    status: 400,
  },
  {
    name: 'a Latin-1 charset',
    method: 'post',
    path: '/appdata/{app}/things',
    headers: { 'Content-Type': 'application/json; charset=latin1' },
    raw: '{"a":1}',
  },
  // Lone surrogates
  {
    name: 'a lone surrogate in _id',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ _id: `doc-${LONE}` }),
    status: 400,
  },
  {
    name: 'a lone surrogate in a field value',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ name: `x${LONE}` }),
    status: 400,
  },
  {
    name: 'a lone surrogate in a field name',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ [`n${LONE}`]: 1 }),
    status: 400,
  },
  {
    name: 'a lone surrogate in _filename',
    method: 'post',
    path: '/blob/{app}',
    raw: JSON.stringify({ _filename: `f${LONE}.txt` }),
    status: 400,
  },
  {
    name: 'a lone surrogate in a file _id',
    method: 'post',
    path: '/blob/{app}',
    raw: JSON.stringify({ _id: `doc-${LONE}` }),
    status: 400,
  },
  {
    name: 'a lone surrogate in a query value',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ name: `a${LONE}` }) },
    status: 400,
  },
  {
    name: 'a lone surrogate in a regex',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ name: { $regex: `a${LONE}` } }) },
    status: 400,
  },
  {
    name: 'a lone surrogate in a username',
    method: 'post',
    path: '/user/{app}',
    as: 'app',
    raw: JSON.stringify({ username: `u${LONE}`, password: 'p' }),
    status: 400,
  },
  // Regular expressions
  {
    name: 'a regex with (?i)',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ name: { $regex: '(?i)^a' } }) },
    status: 200,
  },
  {
    name: 'the ReDoS classic',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ name: { $regex: '^(a+)+$' } }) },
    status: 400,
  },
  {
    name: 'an invalid regex',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ name: { $regex: '(' } }) },
    status: 400,
  },
  // Sizes and shapes
  { name: 'a body nested 5,000 levels', method: 'post', path: '/appdata/{app}/things', raw: deep(5000), status: 400 },
  {
    name: 'a query nested 500 levels',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: deepQuery(500) },
    status: 400,
  },
  { name: 'a body with 30,000 keys', method: 'post', path: '/appdata/{app}/things', raw: wide(30_000), status: 400 },
  {
    name: 'a body of 200,000 array elements',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ list: Array.from({ length: 200_000 }, () => 0) }),
    status: 400,
  },
  {
    name: 'an entity with 1,001 KinveyFile references',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ refs: Array.from({ length: 1001 }, (_, i) => ({ _type: 'KinveyFile', _id: `f${i}` })) }),
    status: 400,
  },
  {
    name: 'an entity with 1,000 KinveyFile references is still fine',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: JSON.stringify({ refs: Array.from({ length: 1000 }, (_, i) => ({ _type: 'KinveyFile', _id: `f${i}` })) }),
    status: 201,
  },
  { name: 'a null body', method: 'post', path: '/appdata/{app}/things', raw: 'null', status: 400 },
  { name: 'a string body', method: 'post', path: '/appdata/{app}/things', raw: '"hello"', status: 400 },
  { name: 'a number body', method: 'put', path: '/appdata/{app}/things/x', raw: '42', status: 400 },
  { name: 'truncated JSON', method: 'post', path: '/appdata/{app}/things', raw: '{"a":', status: 400 },
  {
    name: 'an _acl that is a string',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: '{"_acl":"everyone"}',
    status: 400,
  },
  {
    name: '_acl.r that is not a list',
    method: 'post',
    path: '/appdata/{app}/things',
    raw: '{"_acl":{"r":{"$ne":null}}}',
    status: 400,
  },
  {
    name: 'a 2,000-character id',
    method: 'put',
    path: `/appdata/{app}/things/${'i'.repeat(2000)}`,
    raw: '{}',
    status: 400,
  },
  {
    name: 'a 2,000-field projection',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { fields: Array.from({ length: 2000 }, (_, i) => `f${i}`).join(',') },
    status: 400,
  },
  {
    name: 'a limit beyond any number',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { limit: '9'.repeat(400) },
    status: 400,
  },
  { name: 'a negative skip', method: 'get', path: '/appdata/{app}/things', query: { skip: '-1' }, status: 400 },
  {
    name: 'a sort that is not JSON',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { sort: '{name:1' },
    status: 400,
  },
  {
    name: 'an operator smuggled into a value',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ a: { b: { $where: '1' } } }) },
    status: 400,
  },
  {
    name: '$where at the top',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ $where: 'sleep(1000)' }) },
    status: 400,
  },
  {
    name: '$expr',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { query: JSON.stringify({ $expr: { $function: {} } }) },
    status: 400,
  },
  {
    name: 'ttl that is not a number',
    method: 'get',
    path: '/blob/{app}',
    query: { ttl_in_seconds: 'forever' },
    status: 400,
  },
  {
    name: 'kinveyfile_ttl that is huge',
    method: 'get',
    path: '/appdata/{app}/things',
    query: { kinveyfile_ttl: '1e400' },
    status: 400,
  },
  // Headers and credentials
  {
    name: 'an absurd API version',
    method: 'get',
    path: '/appdata/{app}/things',
    headers: { 'X-Kinvey-API-Version': '99999999999999999999999' },
  },
  {
    name: 'Basic credentials that are not base64',
    method: 'get',
    path: '/appdata/{app}/things',
    as: 'Basic %%%%',
    status: 401,
  },
  {
    name: 'a 10 kB session token',
    method: 'get',
    path: '/appdata/{app}/things',
    as: `Kinvey ${'t'.repeat(10_000)}`,
    status: 401,
  },
  { name: 'an unknown auth scheme', method: 'get', path: '/appdata/{app}/things', as: 'Bearer abc', status: 401 },
  {
    name: 'a Range header of nonsense on a download',
    method: 'get',
    path: '/storage/public/x',
    as: 'none',
    headers: { Range: 'bytes=99999999999999999999-' },
  },
  {
    name: 'a request id header with control characters',
    method: 'get',
    path: '/appdata/{app}/things',
    headers: { 'X-Kinvey-Request-Id': 'a\tb' },
  },
  { name: 'app credentials on a data route', method: 'get', path: '/appdata/{app}/things', as: 'app', status: 401 },
  { name: 'no credentials', method: 'get', path: '/appdata/{app}/things', as: 'none', status: 401 },
];

/** Every log line at error level (50) or above. */
function errorLines() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        if ((JSON.parse(line) as { level: number }).level >= 50) lines.push(line);
      done();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, stream) };
}

describe.each(DOCUMENT_STORES)('hostile input on the %s store', (documents) => {
  let t: TestApp;
  let user: { id: string; auth: string };
  const log = errorLines();

  beforeAll(async () => {
    t = await startTestApp({ documents, logger: log.logger });
    user = await createUser(t, 'mallory');
  });
  afterAll(async () => t.close());

  test.each(HOSTILE)(
    '$name: a 4xx Kinvey error (or the stated status), never a 5xx, nothing logged at error level',
    async (h) => {
      const before = log.lines.length;
      const path = h.path.replace('{app}', t.appKey);
      let req = request(t.app)[h.method](path);
      const auth = { user: user.auth, app: t.appAuth, master: t.masterAuth, none: undefined }[h.as ?? 'user'] ?? h.as;
      if (auth && h.as !== 'none') req = req.set('Authorization', auth);
      if (h.query) req = req.query(h.query);
      if (h.raw !== undefined && !h.headers?.['Content-Type']) req = req.set('Content-Type', 'application/json');
      for (const [k, v] of Object.entries(h.headers ?? {})) req = req.set(k, v);
      const res = h.raw === undefined ? await req : await req.send(h.raw);
      expect(res.status).toBeLessThan(500);
      if (h.status !== undefined) expect(res.status).toBe(h.status);
      if (res.status >= 400)
        expect(res.body).toEqual({
          error: expect.any(String),
          description: expect.any(String),
          debug: expect.any(String),
        });
      expect(log.lines.slice(before)).toEqual([]);
    },
  );

  test('a refused lone-surrogate file id leaves no record behind (it was created before the 500)', async () => {
    const res = await request(t.app)
      .post(`/blob/${t.appKey}`)
      .set('Authorization', user.auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ _id: `doc-${LONE}` }));
    expect(res.status).toBe(400);
    const list = await request(t.app).get(`/blob/${t.appKey}`).set('Authorization', t.masterAuth);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([]);
  });
});
