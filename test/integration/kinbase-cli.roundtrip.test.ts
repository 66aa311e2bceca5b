/**
 * `kinbase export` / `import` / `pull` as users run them (child processes, real stores): an app on
 * the embedded store and local disk moves to MongoDB (FerretDB) and GCS (fake-gcs-server) and back
 * unchanged, and an app pulled over HTTP from a running kinbase is read by the official SDK.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { totpAt } from '../../src/domain/mfa/totp';
import { createTestBucket, removeServiceAccountKey, writeServiceAccountKey } from '../support/gcs-key';
import { AppClient, kinbase, type Body } from '../support/kinbase-cli';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { runFlowScript } from '../support/sdk-clients';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const APP = {
  appKey: 'kid_moving',
  appSecret: 'app-secret-moving-0123456789',
  masterSecret: 'master-secret-moving-0123456789',
};
const mongoUrl = process.env.KINBASE_TEST_MONGODB_URL as string;
const gcsEndpoint = process.env.KINBASE_TEST_GCS_ENDPOINT as string;
const PRIVATE_BYTES = randomBytes(300 * 1024);
const PUBLIC_BYTES = randomBytes(2048);

/** What a user of the app sees, to compare across deployments (URLs differ per server). */
async function view(client: AppClient, alice: { auth: string }) {
  const withoutUrls = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value), (key, v: unknown) =>
      key === '_downloadURL' || key === '_expiresAt' ? undefined : v,
    );
  const books = await client.call('GET', `/appdata/${client.appKey}/books?sort={"_id":1}`, client.master);
  const users = await client.call('GET', `/user/${client.appKey}/?sort={"_id":1}`, client.master);
  const group = await client.call('GET', `/group/${client.appKey}/editors`, client.master);
  const aliceReads = await client.call('GET', `/appdata/${client.appKey}/books?sort={"_id":1}`, alice.auth);
  return {
    books: withoutUrls(books.body),
    // The last login time moves with each login; everything else is as stored.
    users: users.body.map(({ _kmd: { authtoken: _t, llt: _llt, ...kmd }, ...u }: Body) => ({ ...u, _kmd: kmd })),
    group: group.body,
    aliceReads: (aliceReads.body as { _id: string }[]).map((b) => b._id),
  };
}

describe('kinbase export and import move an app between stores', () => {
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  let keyFile: string;
  afterAll(async () => {
    for (const server of servers) await server.stop();
    for (const dir of dirs) removeTempDir(dir);
    if (keyFile) removeServiceAccountKey(keyFile);
  });
  const tempDir = (prefix: string) => {
    const dir = makeTempDir(prefix);
    dirs.push(dir);
    return dir;
  };
  const start = async (env: Record<string, string>) => {
    const server = await startServerProcess(env);
    servers.push(server);
    return server;
  };

  test('embedded + local disk -> MongoDB + GCS -> embedded: entities, files, users, MFA, ACLs and references hold; delta sets start fresh', async () => {
    if (!mongoUrl || !gcsEndpoint)
      throw new Error('the api project globalSetup must start FerretDB and fake-gcs-server');
    const source = tempDir('kinbase-cli-src-');
    const appsFile = path.join(source, 'apps-file.json');
    writeFileSync(appsFile, JSON.stringify([{ ...APP, collections: { books: { deltaSet: true } } }]));
    const sourceEnv = { KINBASE_DATA_DIR: source, KINBASE_APPS_FILE: appsFile };
    const a = await start(sourceEnv);
    const client = new AppClient(a.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
    const alice = await client.signup('alice', 'alice-old-password');
    const bob = await client.signup('bob', 'bob-old-password');
    const created = await client.call('POST', `/user/${APP.appKey}/${bob.id}/authenticators`, bob.auth, {
      name: 'phone',
      type: 'totp',
    });
    const secret = created.body.config.secret as string;
    const enrolledAt = Date.now();
    // The code bob signs in with on the new deployment: the step after the one verification spends.
    const nextCode = totpAt(secret, new Date(enrolledAt + 30_000));
    expect(
      (
        await client.call('POST', `/user/${APP.appKey}/${bob.id}/authenticators/${created.body.id}/verify`, bob.auth, {
          code: totpAt(secret, new Date(enrolledAt)),
        })
      ).status,
    ).toBe(200);
    const privateFile = await client.upload(alice.auth, { _filename: 'private.bin' }, PRIVATE_BYTES);
    const publicFile = await client.upload(alice.auth, { _filename: 'public.bin', _public: true }, PUBLIC_BYTES);
    await client.call('POST', `/appdata/${APP.appKey}/books`, alice.auth, {
      _id: 'alice-only',
      title: 'mine',
      _acl: { gr: false },
    });
    await client.call('POST', `/appdata/${APP.appKey}/books`, bob.auth, {
      _id: 'bob-shared',
      title: 'ours',
      _acl: { gr: true },
    });
    await client.call('POST', `/appdata/${APP.appKey}/books`, alice.auth, {
      _id: 'with-cover',
      cover: { _type: 'KinveyFile', _id: privateFile._id },
    });
    await client.call('DELETE', `/appdata/${APP.appKey}/books/bob-shared`, bob.auth);
    await client.call('POST', `/appdata/${APP.appKey}/books`, bob.auth, {
      _id: 'bob-shared',
      title: 'ours again',
      _acl: { gr: true },
    });
    await client.call('POST', `/group/${APP.appKey}`, client.master, {
      _id: 'editors',
      users: { list: [{ _type: 'KinveyRef', _collection: 'user', _id: alice.id }] },
    });
    const before = await view(client, alice);
    const since = new Date().toISOString();
    expect(
      (await client.call('GET', `/appdata/${APP.appKey}/books/_deltaset?since=${since}`, client.master)).status,
    ).toBe(200);
    expect(await a.stop()).toBe(0);

    const exported = tempDir('kinbase-cli-export-');
    const out = await kinbase(['export', path.join(exported, 'x'), '--json'], sourceEnv);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, apps: [{ appKey: APP.appKey, files: 2 }] });

    // Into MongoDB + GCS: the data dir holds no app yet, so import adds the exported one (same keys).
    keyFile = writeServiceAccountKey(gcsEndpoint);
    const cloudEnv = {
      KINBASE_DATA_DIR: tempDir('kinbase-cli-cloud-'),
      MONGODB_URL: mongoUrl,
      MONGODB_DB_PREFIX: `cli${randomBytes(4).toString('hex')}_`,
      KINBASE_STORAGE: 'gcs',
      GCS_BUCKET: await createTestBucket(gcsEndpoint),
      GCS_API_ENDPOINT: gcsEndpoint,
      GCS_KEY_FILE: keyFile,
    };
    const imported = await kinbase(['import', path.join(exported, 'x')], cloudEnv);
    expect(imported).toMatchObject({ code: 0, stderr: '' });
    expect(imported.stdout).toContain(`imported ${APP.appKey}`);

    const check = async (server: ServerProcess, mfaCodeSpent: boolean) => {
      const moved = new AppClient(server.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
      const login = await moved.call('POST', `/user/${APP.appKey}/login`, moved.app, {
        username: 'alice',
        password: 'alice-old-password',
      });
      expect(login.status).toBe(200);
      const aliceThere = { auth: `Kinvey ${login.body._kmd.authtoken}` };
      expect(await view(moved, aliceThere)).toEqual(before);
      // MFA: bob's authenticator came along; its next code completes his login.
      const first = await moved.call('POST', `/user/${APP.appKey}/login`, moved.app, {
        username: 'bob',
        password: 'bob-old-password',
      });
      expect(first.body).toMatchObject({ mfaRequired: true });
      const token = first.body.mfaSessionToken as string;
      const kinveyMfa = `KinveyMFA ${token}`;
      expect(
        (await moved.call('POST', `/user/${APP.appKey}/mfa/challenge`, kinveyMfa, { authenticatorId: created.body.id }))
          .status,
      ).toBe(200);
      const done = await moved.call('POST', `/user/${APP.appKey}/mfa/complete`, kinveyMfa, {
        code: nextCode,
      });
      // The second time that code was spent already (on MongoDB): the spent step came along too.
      expect(done.status).toBe(mfaCodeSpent ? 400 : 200);
      // Bytes, public flags and the reference all hold.
      const priv = await moved.download(aliceThere.auth, privateFile._id);
      expect(priv.bytes.equals(PRIVATE_BYTES)).toBe(true);
      expect(priv.record._expiresAt).toEqual(expect.any(String));
      const pub = await moved.download(aliceThere.auth, publicFile._id);
      expect(pub.bytes.equals(PUBLIC_BYTES)).toBe(true);
      expect(pub.record).toMatchObject({ _public: true });
      expect(pub.record._expiresAt).toBeUndefined();
      const cover = await moved.call('GET', `/appdata/${APP.appKey}/books/with-cover`, aliceThere.auth);
      const coverBytes = await fetch(cover.body.cover._downloadURL as string);
      expect(Buffer.from(await coverBytes.arrayBuffer()).equals(PRIVATE_BYTES)).toBe(true);
      // Delta sets start fresh: a since from the old deployment means "read everything".
      const delta = await moved.call('GET', `/appdata/${APP.appKey}/books/_deltaset?since=${since}`, moved.master);
      expect(delta).toMatchObject({ status: 400, body: { error: 'ParameterValueOutOfRange' } });
    };
    const b = await start(cloudEnv);
    await check(b, false);

    // And back, exported while the MongoDB server runs.
    const again = await kinbase(['export', path.join(exported, 'y')], cloudEnv);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    await b.stop();
    const backEnv = { KINBASE_DATA_DIR: tempDir('kinbase-cli-back-') };
    expect(await kinbase(['import', path.join(exported, 'y')], backEnv)).toMatchObject({ code: 0, stderr: '' });
    await check(await start(backEnv), true);
  }, 120_000);

  test('pull copies an app from a running kinbase over HTTP; the official SDK reads it and pulled users must reset their password', async () => {
    const source = tempDir('kinbase-cli-pullsrc-');
    const appsFile = path.join(source, 'apps-file.json');
    writeFileSync(appsFile, JSON.stringify([APP]));
    const a = await start({ KINBASE_DATA_DIR: source, KINBASE_APPS_FILE: appsFile });
    const client = new AppClient(a.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
    const alice = await client.signup('alice', 'alice-old-password');
    const file = await client.upload(
      alice.auth,
      { _filename: 'cover.bin', _public: true, _acl: { gr: true } },
      PUBLIC_BYTES,
    );
    for (let i = 0; i < 3; i++)
      await client.call('POST', `/appdata/${APP.appKey}/books`, alice.auth, { _id: `b${i}`, n: i, _acl: { gr: true } });
    await client.call('POST', `/appdata/${APP.appKey}/books`, alice.auth, {
      _id: 'cover',
      cover: { _type: 'KinveyFile', _id: file._id },
      _acl: { gr: true },
    });
    const sourceBooks = (await client.call('GET', `/appdata/${APP.appKey}/books?sort={"_id":1}`, client.master)).body;

    const targetEnv = { KINBASE_DATA_DIR: tempDir('kinbase-cli-pulled-') };
    const pulled = await kinbase(
      [
        'pull',
        a.baseUrl,
        '--app-key',
        APP.appKey,
        '--master-secret',
        APP.masterSecret,
        '--app-secret',
        APP.appSecret,
        '--json',
      ],
      targetEnv,
    );
    expect(pulled).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(pulled.stdout)).toMatchObject({ ok: true, collections: { books: 4 }, users: 1, files: 1 });
    await a.stop();

    const b = await start(targetEnv);
    const moved = new AppClient(b.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
    const books = (await moved.call('GET', `/appdata/${APP.appKey}/books?sort={"_id":1}`, moved.master)).body;
    const strip = (list: Body[]) =>
      list.map(({ cover, ...rest }) => ({ ...rest, cover: cover && { _type: cover._type, _id: cover._id } }));
    expect(strip(books as Body[])).toEqual(strip(sourceBooks as Body[]));
    const flows = await runFlowScript(
      path.resolve(__dirname, '../e2e/clients/node-sdk-3.read-pulled.js'),
      {
        KINBASE_URL: b.baseUrl,
        APP_KEY: APP.appKey,
        APP_SECRET: APP.appSecret,
        PULLED_USERNAME: 'alice',
        PULLED_PASSWORD: 'alice-old-password',
        COLLECTION: 'books',
        FILE_ID: file._id,
      },
      60_000,
    );
    expect(flows.get('pulled user login')).toMatchObject({
      value: { name: 'InvalidCredentialsError', message: expect.stringContaining('reset the password') },
    });
    expect(flows.get('new user reads the pulled collection')).toEqual({
      flow: 'new user reads the pulled collection',
      value: { ids: ['b0', 'b1', 'b2', 'cover'], coverStatus: 200, coverBytes: PUBLIC_BYTES.toString('base64') },
    });
    expect(flows.get('Files.stream of a pulled file')).toMatchObject({
      value: { public: true, base64: PUBLIC_BYTES.toString('base64') },
    });
  }, 120_000);

  test('an export taken on MongoDB while a writer changes documents holds every document whole, before or after each write', async () => {
    const dataDir = tempDir('kinbase-cli-mongo-writer-');
    const appsFile = path.join(dataDir, 'apps-file.json');
    writeFileSync(appsFile, JSON.stringify([APP]));
    const env = {
      KINBASE_DATA_DIR: dataDir,
      KINBASE_APPS_FILE: appsFile,
      MONGODB_URL: mongoUrl,
      MONGODB_DB_PREFIX: `cliw${randomBytes(4).toString('hex')}_`,
    };
    const server = await start(env);
    const client = new AppClient(server.baseUrl, APP.appKey, APP.appSecret, APP.masterSecret);
    const ids = Array.from({ length: 50 }, (_, i) => `d${i}`);
    for (const _id of ids)
      await client.call('POST', `/appdata/${APP.appKey}/pairs`, client.master, { _id, a: 0, b: 0 });
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      for (let round = 1; !stop; round++)
        for (const _id of ids) {
          // Each write changes both fields together: a half-applied write would show them apart.
          await client.call('PUT', `/appdata/${APP.appKey}/pairs/${_id}`, client.master, {
            a: round,
            b: round,
            pad: 'x'.repeat(round % 7),
          });
          writes++;
        }
    })();
    while (writes < 20) await new Promise((r) => setTimeout(r, 5));
    const exported = tempDir('kinbase-cli-mongo-export-');
    const run = await kinbase(['export', path.join(exported, 'x')], env);
    stop = true;
    await writer;
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const manifest = JSON.parse(readFileSync(path.join(exported, 'x', 'manifest.json'), 'utf8'));
    expect(manifest.consistency).toBe('per-document');
    const entry = manifest.apps[0].collections.find((c: { name: string }) => c.name === 'pairs');
    const docs = readFileSync(path.join(exported, 'x', entry.path), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(docs.map((d) => d._id).sort()).toEqual([...ids].sort());
    for (const doc of docs) {
      expect(doc.a).toBe(doc.b);
      expect(doc.pad).toBe(doc.a === 0 ? undefined : 'x'.repeat(doc.a % 7));
    }
    expect(writes).toBeGreaterThan(20);
  }, 60_000);
});
