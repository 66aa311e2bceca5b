/**
 * Kinvey roles end to end: the built server started on an apps file whose environment file
 * defines the role `Reviewer` and a role-based collection (`reviews`: all users create, only
 * Reviewers read), used by the official SDKs (kinvey-node-sdk 3.12.5, kinvey-js-sdk 7.0.0) in
 * child processes (test/e2e/clients/roles-flows.js).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const APP = {
  appKey: 'kid_sdk_roles',
  appSecret: 'sdk-roles-app-secret',
  masterSecret: 'sdk-roles-master-secret',
  name: 'SDK roles e2e',
};
const ENVIRONMENT = {
  schemaVersion: '1.0.0',
  configType: 'environment',
  settings: { apiVersion: 3, emailVerification: { required: false }, passwordReset: null },
  roles: { Reviewer: { name: 'Reviewer', description: 'Reads every review' } },
  collections: {
    reviews: {
      type: 'internal',
      permissions: {
        'all-users': { create: 'always', read: 'never', update: 'never', delete: 'never' },
        Reviewer: { read: 'always' },
      },
    },
    notes: { type: 'internal', permissions: 'private' },
  },
};
const CLIENT_TIMEOUT_MS = 40_000;
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;
type Sdk = (typeof SDKS)[number];

describe('roles with the official SDKs against the built server', () => {
  let dataDir: string | undefined;
  let envDir: string | undefined;
  let server: ServerProcess | undefined;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    envDir = await mkdtemp(path.join(tmpdir(), 'kinbase-sdk-roles-env-'));
    const envFile = path.join(envDir, 'env.json');
    await writeFile(envFile, JSON.stringify(ENVIRONMENT));
    ({ server, dataDir } = await startSdkServer([{ ...APP, environmentFile: envFile }], 'kinbase-sdk-roles-'));
    for (const sdk of SDKS) {
      const script = path.join(__dirname, 'clients', `${sdk}.roles.js`);
      results.set(
        sdk,
        await runFlowScript(
          script,
          {
            KINBASE_URL: server.baseUrl,
            APP_KEY: APP.appKey,
            APP_SECRET: APP.appSecret,
            MASTER_SECRET: APP.masterSecret,
          },
          CLIENT_TIMEOUT_MS,
        ),
      );
    }
  }, 90_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (envDir) await rm(envDir, { recursive: true, force: true });
  });

  function seen(sdk: Sdk, name: string): unknown {
    const result = results.get(sdk)?.get(name);
    if (!result) throw new Error(`${sdk} did not report the flow "${name}"`);
    if (result.error) throw new Error(`${sdk} flow "${name}" failed: ${JSON.stringify(result.error)}`);
    return result.value;
  }

  test('the start accepted the environment file with no warning (its role exists: see below)', () => {
    expect(server!.output()).toContain('kinbase is serving at');
    expect(server!.output()).not.toMatch(/not supported|ignored|role-based/);
  });

  describe.each(SDKS)('%s', (sdk) => {
    test('the role the environment file defines exists after the start', () => {
      expect(seen(sdk, 'the role from the environment file')).toEqual({
        name: 'Reviewer',
        description: 'Reads every review',
      });
    });

    test('all users may add a review but not read one, even their own; their private note stays theirs', () => {
      expect(seen(sdk, 'the writer saves a review and a note for the role, and cannot read the review back')).toEqual({
        reviews: [],
        notes: [`${sdk}-note`],
      });
    });

    test('a private collection where only a role may read: nothing without the role, everything with it', () => {
      expect(seen(sdk, 'the reader without the role sees neither')).toEqual({ reviews: [], notes: [] });
      expect(seen(sdk, 'the reader with the role sees both, in the same session')).toEqual({
        reviews: [`${sdk}-review`],
        notes: [`${sdk}-note`],
        stars: 4,
      });
      expect(seen(sdk, 'the reader whose role is revoked sees neither again')).toEqual({ reviews: [], notes: [] });
    });

    test('a user cannot grant a role to themselves', () => {
      expect(seen(sdk, 'the reader cannot grant a role to themselves')).toEqual({
        status: 401,
        error: 'InsufficientCredentials',
      });
    });
  });
});
