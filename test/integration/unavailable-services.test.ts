/**
 * Routes the official SDKs call for Kinvey services kinbase does not offer answer a clear Kinvey
 * error the SDK surfaces, after the usual credential check, never a generic 404.
 */
import request from 'supertest';
import { createUser } from '../support/scenarios';
import { startTestApp, type TestApp } from '../support/test-app';

describe('services kinbase does not offer', () => {
  let t: TestApp;
  let user: { id: string; auth: string };
  beforeAll(async () => {
    t = await startTestApp();
    user = await createUser(t, 'live');
  });
  afterAll(() => t.close());

  test.each([
    [
      'Live: subscribe to a collection',
      'post',
      (a: TestApp) => `/appdata/${a.appKey}/chat/_subscribe`,
      403,
      'MissingConfiguration',
    ],
    [
      'Live: unsubscribe',
      'post',
      (a: TestApp) => `/appdata/${a.appKey}/chat/_unsubscribe`,
      403,
      'MissingConfiguration',
    ],
    [
      'Live: register a user for real time',
      'post',
      (a: TestApp, id: string) => `/user/${a.appKey}/${id}/register-realtime`,
      403,
      'MissingConfiguration',
    ],
    [
      'Live: unregister',
      'post',
      (a: TestApp, id: string) => `/user/${a.appKey}/${id}/unregister-realtime`,
      403,
      'MissingConfiguration',
    ],
    [
      'push: register a device',
      'post',
      (a: TestApp) => `/push/${a.appKey}/register-device`,
      403,
      'MissingConfiguration',
    ],
    ['MIC: the OAuth token endpoint', 'post', () => '/oauth/token', 400, 'FeatureUnavailable'],
    ['MIC: the OAuth authorize endpoint', 'get', () => '/oauth/auth?client_id=x', 400, 'FeatureUnavailable'],
  ] as const)('%s answers a clear Kinvey error', async (_what, method, path, status, error) => {
    const res = await request(t.app)[method](path(t, user.id)).set('Authorization', user.auth).send({ deviceId: 'd1' });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error, description: expect.any(String), debug: expect.any(String) });
  });

  test('without credentials the Live routes still answer 401 first', async () => {
    const res = await request(t.app).post(`/appdata/${t.appKey}/chat/_subscribe`).send({});
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('InvalidCredentials');
  });
});
