/**
 * The official Kinvey SDKs as real clients of the built server: kinvey-node-sdk 3.12.5 (custom
 * host through `apiHostname`, unpatched) and kinvey-js-sdk 7.0.0 (fixed kinvey.com origin, run
 * through the Node platform adapter in test/support). Both SDKs are process-wide singletons, so
 * each runs its flows in its own child process (test/e2e/clients) and prints one line per flow.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runFlowScript, startSdkServer, type FlowResult } from '../support/sdk-clients';
import type { ServerProcess } from '../support/server-process';

const APP = {
  appKey: 'kid_sdk_e2e',
  appSecret: 'sdk-e2e-app-secret',
  masterSecret: 'sdk-e2e-master-secret',
  name: 'SDK e2e',
};
const READONLY_COLLECTION = 'announcements';
const CLIENT_TIMEOUT_MS = 40_000;
const SDKS = ['node-sdk-3', 'js-sdk-7'] as const;
type Sdk = (typeof SDKS)[number];

/** Runs one SDK's flow script to completion; rejects loudly if it crashes or hangs. */
async function runClient(sdk: Sdk, baseUrl: string): Promise<Map<string, FlowResult>> {
  const script = path.join(__dirname, 'clients', `${sdk}.flows.js`);
  return runFlowScript(
    script,
    { KINBASE_URL: baseUrl, APP_KEY: APP.appKey, APP_SECRET: APP.appSecret, READONLY_COLLECTION },
    CLIENT_TIMEOUT_MS,
  );
}

describe('the official Kinvey SDKs against the built server', () => {
  let dataDir: string;
  let server: ServerProcess;
  const results = new Map<Sdk, Map<string, FlowResult>>();

  beforeAll(async () => {
    ({ server, dataDir } = await startSdkServer(
      [{ ...APP, collections: { [READONLY_COLLECTION]: { permissions: 'read-only' } } }],
      'kinbase-sdk-e2e-',
    ));
    await Promise.all(SDKS.map(async (sdk) => results.set(sdk, await runClient(sdk, server.baseUrl))));
  }, 55_000);

  afterAll(async () => {
    if (server) await server.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The value the app saw in one flow; fails with the SDK's error if the flow threw. */
  function seen<T = Record<string, unknown>>(sdk: Sdk, flow: string): T {
    const result = results.get(sdk)?.get(flow);
    if (!result) throw new Error(`${sdk} did not report the flow "${flow}"`);
    if (result.error) throw new Error(`${sdk} flow "${flow}" failed: ${JSON.stringify(result.error)}`);
    return result.value as T;
  }

  describe.each(SDKS)('%s', (sdk) => {
    test('ping answers the app handshake', () => {
      expect(seen(sdk, 'ping')).toEqual({ kinvey: `hello ${APP.name}`, version: expect.any(String) });
    });

    test('signup creates the user and login makes it the active user with a token', () => {
      const v = seen(sdk, 'signup and login');
      expect(v.signedUpUsername).toMatch(new RegExp(`^${sdk}-`));
      expect(v.loggedInId).toBe(v.signedUpId);
      expect(v.activeUsername).toBe(v.signedUpUsername);
      expect(v.hasAuthtoken).toBe(true);
      // 3.x logs the new user in (API v4 signup carries a token); 7.x does not.
      expect(v.activeAfterSignup).toBe(sdk === 'node-sdk-3');
    });

    test('_me returns the user and the session keeps its token', () => {
      const signup = seen(sdk, 'signup and login');
      expect(seen(sdk, '_me')).toEqual({
        id: signup.loggedInId,
        username: signup.signedUpUsername,
        email: `${String(signup.signedUpUsername)}@example.com`,
        sessionKeepsToken: true,
      });
    });

    test('logout clears the active user and logging in again works', () => {
      const signup = seen(sdk, 'signup and login');
      expect(seen(sdk, 'logout and login again')).toEqual({
        activeAfterLogout: false,
        loggedInId: signup.loggedInId,
        meId: signup.loggedInId,
      });
    });

    test('a wrong password raises InvalidCredentials and the right one still logs in', () => {
      const v = seen<{ error: { name: string }; activeAfterFailure: boolean; reloggedId: string }>(
        sdk,
        'wrong password',
      );
      expect(v.error.name).toBe('InvalidCredentialsError');
      expect(v.activeAfterFailure).toBe(false);
      expect(v.reloggedId).toBe(seen(sdk, 'signup and login').loggedInId);
    });

    test('Files.upload with metadata.public runs the resumable dance and returns the metadata', () => {
      const v = seen(sdk, 'Files.upload (public, resumable)');
      expect(v).toMatchObject({
        _public: true,
        _filename: `${sdk}-pixel.${sdk === 'js-sdk-7' ? 'png' : 'txt'}`,
        mimeType: sdk === 'js-sdk-7' ? 'image/png' : 'text/plain',
      });
      expect(typeof v._id).toBe('string');
      expect(v.size).toBeGreaterThan(0);
    });

    test('Files.stream returns the metadata with a working _downloadURL', () => {
      const v = seen(sdk, 'Files.stream');
      expect(v._id).toBe(seen(sdk, 'Files.upload (public, resumable)')._id);
      expect(v).toMatchObject({ status: 200, identical: true });
    });

    test('Files.download returns byte-identical content', () => {
      expect(seen(sdk, 'Files.download')).toMatchObject({
        identical: true,
        kind: sdk === 'js-sdk-7' ? 'Buffer' : 'string',
      });
    });

    test('Files.find by mimeType lists the upload with download URLs', () => {
      expect(seen(sdk, 'Files.find by mimeType')).toEqual({
        includesUpload: true,
        allMatch: true,
        allHaveDownloadURL: true,
      });
    });

    test('Files.removeById removes the file; it is not found afterwards', () => {
      const v = seen<{ removed: unknown; afterwards: { name: string } }>(sdk, 'Files.removeById');
      expect(v.removed).toEqual({ count: 1 });
      expect(v.afterwards.name).toBe('NotFoundError');
    });

    test('saving an entity keeps its KinveyFile reference and sets _acl.creator and _kmd', () => {
      const v = seen(sdk, 'save an entity holding a KinveyFile reference');
      expect(v).toMatchObject({ hasId: true, hasLmt: true, avatarType: 'KinveyFile' });
      expect(v.creator).toBe(v.userId);
      expect(v.avatarId).toBe(v.fileId);
    });

    test('find applies query, sort, limit, skip and fields', () => {
      expect(seen(sdk, 'find with query, sort, limit, skip and fields')).toEqual([
        { name: 'Alice', age: 31, hasCity: false },
        { name: 'Dan', age: 35, hasCity: false },
      ]);
    });

    test('findById returns the entity', () => {
      expect(seen(sdk, 'findById')).toMatchObject({ name: 'Alice', age: 31 });
    });

    test('count counts by query and in total', () => {
      expect(seen(sdk, 'count')).toEqual({ berlin: 3, all: 4 });
    });

    test('a KinveyFile reference in a found entity arrives resolved with a working _downloadURL', () => {
      const v = seen(sdk, 'reference arrives resolved');
      expect(v).toEqual({
        _type: 'KinveyFile',
        _id: seen(sdk, 'Files.upload (public, resumable)')._id,
        hasDownloadURL: true,
        status: 200,
        identical: true,
      });
    });

    test('remove by query and by id report counts and leave the rest', () => {
      expect(seen(sdk, 'remove by query and by id')).toEqual({
        byQuery: { count: 1 },
        byId: { count: 1 },
        left: ['Alice', 'Bob'],
      });
    });

    test('a permission denial raises InsufficientCredentials without logging the user out', () => {
      const v = seen<{ error: { name: string }; stillActive: boolean; meId: string }>(
        sdk,
        'permission denial keeps the user logged in',
      );
      expect(v.error.name).toBe('InsufficientCredentialsError');
      expect(v.stillActive).toBe(true);
      expect(v.meId).toBe(seen(sdk, 'signup and login').loggedInId);
    });

    test('a sync store pushes entities with an empty _kmd and pulls them back in pages', () => {
      expect(seen(sdk, 'sync store push and paged pull')).toEqual({
        pushed: [1, 2, 3].map(() => ({ hasError: false, serverId: true })),
        pulled: 3,
        local: ['note 1', 'note 2', 'note 3'],
        localIdsFromServer: true,
        network: ['note 1', 'note 2', 'note 3'],
      });
    });

    test('entities saved one after another come back in creation order when no sort is given', () => {
      expect(seen(sdk, 'entities come back in creation order without a sort')).toEqual({ inOrder: true, count: 15 });
    });

    test('signup without a password returns the generated one, and logging in with it works', () => {
      expect(seen(sdk, 'signup without a password, then log in with the password the signup returned')).toEqual({
        hasPassword: true,
        sameUser: true,
      });
    });

    test('logout at the end leaves no active user', () => {
      expect(seen(sdk, 'logout')).toEqual({ active: false });
    });
  });
});
