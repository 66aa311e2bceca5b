/**
 * Table-driven API tests: each scenario is one request and the response a client must see.
 * Shared by the appdata, files and reference suites.
 */
import request from 'supertest';
import type { TestApp } from './test-app';

export interface ScenarioContext {
  t: TestApp;
  /** Authorization header values by principal name ('master', 'app', or a user name). */
  auth: Record<string, string>;
  /** User ids by user name. */
  userIds: Record<string, string>;
  /** Anything a suite's setup recorded (ids of seeded entities...). */
  vars: Record<string, string>;
}

export interface Expectation {
  status: number;
  /** Kinvey error name, for error responses. */
  error?: string;
  /** For array responses: the `_id`s in order. */
  ids?: string[];
  /** For `{count}` responses. */
  count?: number;
  /** Response headers that must be present (string = exact, RegExp = pattern). */
  headers?: Record<string, string | RegExp>;
  /** Any further check on the response body. */
  check?: (body: unknown, ctx: ScenarioContext, headers: Record<string, string>) => void;
}

export interface Scenario {
  name: string;
  /** Principal: 'master', 'app', a user name, 'none' (no Authorization) or a raw header. */
  as: string;
  method: 'get' | 'post' | 'put' | 'delete';
  /** Path with {app} and {var} placeholders filled from the context. */
  path: string;
  query?: Record<string, unknown>;
  /** The body, or `(ctx: ScenarioContext) => body` to build it from the scenario's context. */
  body?: unknown;
  headers?: Record<string, string>;
  expect: Expectation;
}

export function fill(template: string, ctx: ScenarioContext): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === 'app') return ctx.t.appKey;
    const value = ctx.vars[name] ?? ctx.userIds[name];
    if (value === undefined) throw new Error(`scenario placeholder {${name}} is not defined`);
    return encodeURIComponent(value);
  });
}

/** Sends the scenario's request and asserts the expectation with jest matchers. */
export async function runScenario(s: Scenario, ctx: ScenarioContext): Promise<unknown> {
  let req = request(ctx.t.app)[s.method](fill(s.path, ctx));
  const authorization = s.as === 'none' ? undefined : (ctx.auth[s.as] ?? s.as);
  if (authorization) req = req.set('Authorization', authorization);
  for (const [k, v] of Object.entries(s.headers ?? {})) req = req.set(k, v);
  if (s.query) {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.query)) q[k] = typeof v === 'string' ? v : JSON.stringify(v);
    req = req.query(q);
  }
  const body = typeof s.body === 'function' ? (s.body as (c: ScenarioContext) => unknown)(ctx) : s.body;
  const res = body === undefined ? await req : await req.send(body as object);

  const seen = { status: res.status, body: res.body as unknown };
  expect(seen).toMatchObject({ status: s.expect.status });
  if (s.expect.error)
    expect(res.body).toMatchObject({
      error: s.expect.error,
      description: expect.any(String),
      debug: expect.any(String),
    });
  if (s.expect.ids) expect((res.body as { _id: string }[]).map((d) => d._id)).toEqual(s.expect.ids);
  if (s.expect.count !== undefined) expect(res.body).toEqual({ count: s.expect.count });
  for (const [name, value] of Object.entries(s.expect.headers ?? {})) {
    if (value instanceof RegExp) expect(res.headers[name.toLowerCase()]).toMatch(value);
    else expect(res.headers[name.toLowerCase()]).toBe(value);
  }
  s.expect.check?.(res.body, ctx, res.headers);
  return res.body;
}

/** Signs a user up and logs them in through the real API; returns the id and session header. */
export async function createUser(
  t: TestApp,
  username: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; auth: string }> {
  const password = `pw-${username}-secret`;
  const signup = await request(t.app)
    .post(`/user/${t.appKey}`)
    .set('Authorization', t.appAuth)
    .send({ username, password, ...extra });
  if (signup.status !== 201)
    throw new Error(`signup of ${username} failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  const login = await request(t.app)
    .post(`/user/${t.appKey}/login`)
    .set('Authorization', t.appAuth)
    .send({ username, password });
  if (login.status !== 200)
    throw new Error(`login of ${username} failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: login.body._id as string, auth: `Kinvey ${login.body._kmd.authtoken as string}` };
}
