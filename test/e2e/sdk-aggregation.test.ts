/**
 * `store.group(Kinvey.Aggregation.…)` with the official SDKs as real clients of the built server:
 * kinvey-node-sdk 3.12.5 and kinvey-js-sdk 7.0.0, each in its own child process
 * (test/e2e/clients/*.aggregation.js) printing one line per aggregation.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const APP = {
  appKey: 'kid_sdk_agg',
  appSecret: 'sdk-agg-app-secret',
  masterSecret: 'sdk-agg-master-secret',
  name: 'SDK aggregation e2e',
};
const CLIENT_TIMEOUT_MS = 40_000;
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;
type Sdk = (typeof SDKS)[number];

/** Runs one SDK's aggregation script to completion; rejects loudly if it crashes or hangs. */
async function runClient(sdk: Sdk, baseUrl: string): Promise<Map<string, FlowResult>> {
  const script = path.join(__dirname, 'clients', `${sdk}.aggregation.js`);
  return runFlowScript(
    script,
    { KINBASE_URL: baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret },
    CLIENT_TIMEOUT_MS,
  );
}

describe('Kinvey.Aggregation with the official SDKs against the built server', () => {
  let dataDir: string;
  let server: ServerProcess;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    ({ server, dataDir } = await startSdkServer([APP], 'kinbase-sdk-agg-'));
    await Promise.all(SDKS.map(async (sdk) => results.set(sdk, await runClient(sdk, server.baseUrl))));
  }, 55_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function seen(sdk: Sdk, flow: string): unknown {
    const result = results.get(sdk)?.get(flow);
    if (!result) throw new Error(`${sdk} did not report the flow "${flow}"`);
    if (result.error) throw new Error(`${sdk} flow "${flow}" failed: ${JSON.stringify(result.error)}`);
    return result.value;
  }

  describe.each(SDKS)('%s', (sdk) => {
    test('the entities are saved', () => {
      expect(seen(sdk, 'setup')).toBe(4);
    });

    test('count(field) counts per value of the field', () => {
      expect(seen(sdk, 'count by region')).toEqual([
        { region: 'eu', count: 3 },
        { region: 'us', count: 1 },
      ]);
    });

    test('sum(field) sums the whole collection', () => {
      expect(seen(sdk, 'sum')).toEqual([{ sum: 65 }]);
    });

    test('sum(field).by(other) sums per group', () => {
      expect(seen(sdk, 'sum by region')).toEqual([
        { region: 'eu', sum: 60 },
        { region: 'us', sum: 5 },
      ]);
    });

    test('min(field) and max(field)', () => {
      expect(seen(sdk, 'min')).toEqual([{ min: 5 }]);
      expect(seen(sdk, 'max')).toEqual([{ max: 30 }]);
    });

    test("average(field) answers the SDK's {count, average}", () => {
      expect(seen(sdk, 'average')).toEqual([{ count: 4, average: 16.25 }]);
    });

    test('a query restricts what is aggregated', () => {
      expect(seen(sdk, 'count with a condition')).toEqual([{ count: 2, region: 'eu' }]);
    });

    test('a custom reducer is refused with 400 FeatureUnavailable, never run', () => {
      const result = results.get(sdk)?.get('a custom reducer');
      expect(result?.error).toMatchObject({ name: 'FeatureUnavailableError' });
    });
  });
});
