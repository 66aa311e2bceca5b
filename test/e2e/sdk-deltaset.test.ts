/**
 * Delta sets with the official SDKs against the built server: kinvey-js-sdk 7.0.0 and
 * kinvey-node-sdk 3.12.5 (both have `useDeltaSet`) run test/e2e/clients/deltaset.flows.js in a
 * child process each. A Sync store pulls (auto-paged), the server changes under it, and the next
 * pulls must go through `_deltaset` (seen in the server's access log) and leave the SDK's cache
 * equal to the server; a collection without a delta set must make the SDK fall back to a full read.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const APP = {
  appKey: 'kid_sdk_delta',
  appSecret: 'sdk-delta-app-secret',
  masterSecret: 'sdk-delta-master-secret',
  name: 'SDK delta sets',
};
const SDKS = ['js-sdk-7', 'node-sdk-3'] as const;
type Sdk = (typeof SDKS)[number];
const deltaCollection = (sdk: Sdk) => `notes-${sdk}`;
const plainCollection = (sdk: Sdk) => `plain-${sdk}`;
const CLIENT_TIMEOUT_MS = 40_000;

type PullResult = { pulled: number; cache: Record<string, number> };

async function runClient(sdk: Sdk, baseUrl: string): Promise<Map<string, FlowResult>> {
  return runFlowScript(
    path.join(__dirname, 'clients', 'deltaset.flows.js'),
    {
      SDK: sdk,
      KINBASE_URL: baseUrl,
      APP_KEY: APP.appKey,
      APP_SECRET: APP.appSecret,
      MASTER_SECRET: APP.masterSecret,
      DELTA_COLLECTION: deltaCollection(sdk),
      PLAIN_COLLECTION: plainCollection(sdk),
    },
    CLIENT_TIMEOUT_MS,
  );
}

describe('delta sets through the official SDKs', () => {
  let dataDir: string;
  let server: ServerProcess;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    const collections = Object.fromEntries(
      SDKS.map((sdk) => [deltaCollection(sdk), { permissions: 'shared', deltaSet: true }]),
    );
    // The access log shows which requests the SDKs sent.
    ({ server, dataDir } = await startSdkServer([{ ...APP, collections }], 'kinbase-sdk-delta-', {
      KINBASE_LOG_LEVEL: 'info',
    }));
    for (const sdk of SDKS) results.set(sdk, await runClient(sdk, server.baseUrl));
  }, 90_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function seen(sdk: Sdk, flow: string): PullResult {
    const result = results.get(sdk)?.get(flow);
    if (!result) throw new Error(`${sdk} did not report the flow "${flow}"`);
    if (result.error || !result.value) throw new Error(`${sdk} flow "${flow}" failed: ${JSON.stringify(result.error)}`);
    return result.value as PullResult;
  }

  /**
   * `GET` requests of one collection from the access log, as "path?query status", in the order
   * they started: with several workers, lines from different processes reach the log in the order
   * the requests finished, so they are ordered by start (time - responseTime, stable on ties).
   */
  function gets(collection: string): string[] {
    const lines: { start: number; line: string }[] = [];
    for (const line of server.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as {
        time: number;
        responseTime?: number;
        req?: { method: string; url: string };
        res?: { statusCode: number };
      };
      const prefix = `/appdata/${APP.appKey}/${collection}`;
      if (entry.req?.method !== 'GET' || !entry.res || !entry.req.url.startsWith(prefix)) continue;
      const rest = entry.req.url.slice(prefix.length);
      if (rest === '' || /^[/?]/.test(rest))
        lines.push({ start: entry.time - (entry.responseTime ?? 0), line: `${rest} ${entry.res.statusCode}` });
    }
    return lines.sort((a, b) => a.start - b.start).map((entry) => entry.line);
  }

  describe.each(SDKS)('%s', (sdk) => {
    test('the first pull is a full, auto-paged read', () => {
      expect(seen(sdk, 'first pull')).toEqual({ pulled: 5, cache: { a: 1, b: 1, c: 1, d: 1, e: 1 } });
      const first = gets(deltaCollection(sdk)).slice(0, 4);
      expect(first[0]).toBe('/_count 200');
      expect(first.slice(1).every((line) => /^\?limit=\d/.test(line) && line.endsWith(' 200'))).toBe(true);
    });

    test('the next pulls go through _deltaset and the cache loses deleted and gains changed entities', () => {
      expect(seen(sdk, 'second pull')).toEqual({ pulled: 2, cache: { a: 2, c: 1, f: 1 } });
      expect(seen(sdk, 'third pull, nothing changed')).toEqual({ pulled: 0, cache: { a: 2, c: 1, f: 1 } });
      const deltas = gets(deltaCollection(sdk)).filter((line) => line.startsWith('/_deltaset'));
      expect(deltas).toHaveLength(2);
      for (const line of deltas)
        expect(line).toMatch(/^\/_deltaset\?since=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d\.\d{3}Z 200$/);
      // After the first pull, nothing but delta sets was read.
      expect(gets(deltaCollection(sdk)).slice(4)).toEqual(deltas);
    });

    test('without a delta set the SDK gets 403 MissingConfiguration and falls back to a full read', () => {
      expect(seen(sdk, 'second pull without a delta set')).toEqual({ pulled: 3, cache: { a: 2, c: 1, f: 1 } });
      const afterFirst = gets(plainCollection(sdk)).slice(4);
      expect(afterFirst[0]).toMatch(/^\/_deltaset\?since=\S+ 403$/);
      expect(afterFirst.slice(1)[0]).toBe('/_count 200');
    });
  });
});
