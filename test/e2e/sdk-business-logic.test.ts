/**
 * Business Logic end to end: the built server started on an apps file that names a kinvey-cli
 * environment file (test/fixtures/business-logic/env.json) and a real Flex service, used by the
 * official SDKs (kinvey-node-sdk 3.12.5, kinvey-js-sdk 7.0.0) in child processes. Also what only
 * the server process does: the environment's groups at start, the schedule, startup warnings.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { startFlexService, type FlexServiceProcess } from '../support/flex-service';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const ENV_FILE = path.join(__dirname, '../fixtures/business-logic/env.json');
const APP = {
  appKey: 'kid_sdk_bl',
  appSecret: 'sdk-bl-app-secret',
  masterSecret: 'sdk-bl-master-secret',
  name: 'SDK Business Logic e2e',
};
const MASTER = `Basic ${Buffer.from(`${APP.appKey}:${APP.masterSecret}`).toString('base64')}`;
const CLIENT_TIMEOUT_MS = 40_000;
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;
type Sdk = (typeof SDKS)[number];

describe('Business Logic with the official SDKs against the built server', () => {
  let flex: FlexServiceProcess;
  let dataDir: string;
  let server: ServerProcess;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    flex = await startFlexService();
    ({ server, dataDir } = await startSdkServer(
      [{ ...APP, environmentFile: ENV_FILE, flexServices: { catalog: { host: flex.url, secret: flex.secret } } }],
      'kinbase-sdk-bl-',
    ));
    for (const sdk of SDKS) {
      const script = path.join(__dirname, 'clients', `${sdk}.business-logic.js`);
      results.set(
        sdk,
        await runFlowScript(
          script,
          { KINBASE_URL: server.baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret },
          CLIENT_TIMEOUT_MS,
        ),
      );
    }
  }, 90_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (flex) await flex.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function seen(sdk: Sdk, name: string): unknown {
    const result = results.get(sdk)?.get(name);
    if (!result) throw new Error(`${sdk} did not report the flow "${name}"`);
    if (result.error) throw new Error(`${sdk} flow "${name}" failed: ${JSON.stringify(result.error)}`);
    return result.value;
  }

  describe.each(SDKS)('%s', (sdk) => {
    const letter = sdk === 'node-sdk-3' ? 'n' : 'j';
    const shelf = sdk === 'node-sdk-3' ? 'N' : 'J';

    // The SDKs save an entity that has an _id with PUT .../books/:id: the URL names the entity, so
    // the hook's change to body._id (the Files guide example, which renames POSTed ids) does not move it.
    test('DataStore.save goes through the internal pre-save and the Flex post-save hook', () => {
      expect(seen(sdk, 'save through the pre-save hook')).toEqual({
        _id: `${letter}23456789012`,
        shelf,
        savedBy: seen(sdk, 'setup'),
        postField: 'after PUT',
      });
    });

    test('DataStore.find gets what the post-fetch hook added', () => {
      expect(seen(sdk, 'read through the post-fetch hook')).toContain('2026-12-01');
    });

    test('CustomEndpoint.execute runs the internal endpoint', () => {
      expect(seen(sdk, 'internal endpoint')).toEqual({
        shelf,
        count: 1,
        titles: [`${shelf}ovel`],
        askedBy: seen(sdk, 'setup'),
      });
    });

    test('CustomEndpoint.execute runs the Flex handler', () => {
      expect(seen(sdk, 'external endpoint')).toEqual({
        body: { from: sdk },
        username: seen(sdk, 'setup'),
        hookType: 'customEndpoint',
      });
    });

    test('an unknown endpoint fails with EndpointDoesNotExist in the SDK', () => {
      expect(JSON.stringify(seen(sdk, 'unknown endpoint'))).toMatch(/EndpointDoesNotExist|custom endpoint/i);
    });

    test('the external collection saves and reads through the Flex service object', () => {
      expect(seen(sdk, 'external collection')).toEqual({ stamped: 'by flex', name: `${sdk} gear` });
    });
  });

  test('the server created the environment file groups at start', async () => {
    const res = await request(server.baseUrl)
      .get(`/group/${APP.appKey}/librarians`)
      .set('Authorization', MASTER)
      .expect(200);
    expect(res.body).toMatchObject({ _id: 'librarians', name: 'Librarians' });
  });

  test('the scheduled endpoint ran for the current tick at start', async () => {
    const res = await request(server.baseUrl)
      .get(`/appdata/${APP.appKey}/ticks`)
      .set('Authorization', MASTER)
      .expect(200);
    expect(res.body.length).toBeGreaterThanOrEqual(1);
    expect(res.body[0].at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/);
  });

  test('the start logged what the environment file has that kinbase ignores', () => {
    expect(server.output()).toMatch(/serviceEnvironment/);
  });
});
