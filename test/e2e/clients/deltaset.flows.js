/**
 * Delta sets through an official SDK (SDK=js-sdk-7 or node-sdk-3): a Sync store with
 * `useDeltaSet: true` pulls (the first pull auto-paged), the server changes under it (master via
 * REST: update, create, delete by id, delete by query), the store pulls again and reports what its
 * local cache holds. A second collection without a delta set shows the SDK's fallback to a full
 * read. Prints `FLOW {"flow":…,"value"|"error":…}` lines; test/e2e/sdk-deltaset.test.ts asserts
 * them together with the server's access log.
 * Env: SDK, KINBASE_URL, APP_KEY, APP_SECRET, MASTER_SECRET, DELTA_COLLECTION, PLAIN_COLLECTION.
 */
const { SDK, KINBASE_URL, APP_KEY, APP_SECRET, MASTER_SECRET, DELTA_COLLECTION, PLAIN_COLLECTION } = process.env;
const CALL_TIMEOUT_MS = 8_000;
const { flow: reportFlow } = require('./flow-report');

// Pulls page through many entities: a flow may take longer than the default bound.
const flow = (name, run) => reportFlow(name, run, 30_000);

function loadSdk() {
  if (SDK === 'js-sdk-7') {
    return require('../../support/kinvey-js-sdk-node').init({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      apiHostname: KINBASE_URL,
    });
  }
  if (SDK === 'node-sdk-3') {
    const Kinvey = require('kinvey-node-sdk');
    Kinvey.init({ appKey: APP_KEY, appSecret: APP_SECRET, apiHostname: KINBASE_URL, micHostname: KINBASE_URL });
    return Kinvey;
  }
  throw new Error(`unknown SDK ${SDK}`);
}

/** The server side of the story: master credentials over plain REST. */
async function master(method, path, body) {
  const res = await fetch(`${KINBASE_URL}/appdata/${APP_KEY}/${path}`, {
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(`${APP_KEY}:${MASTER_SECRET}`).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** What the store's local cache holds, as {_id: v}. */
async function cached(store) {
  const docs = await store.find(undefined, { timeout: CALL_TIMEOUT_MS }).toPromise();
  return Object.fromEntries(docs.map((doc) => [doc._id, doc.v]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function main() {
  const Kinvey = loadSdk();
  const username = `${SDK}-delta-${Date.now().toString(36)}`;
  // node-sdk 3 signup makes the user active; js-sdk 7 needs the login (delta sets need a session there).
  await Kinvey.User.signup({ username, password: 'delta-secret' });
  if (!(await Kinvey.User.getActiveUser())) await Kinvey.User.login(username, 'delta-secret');

  for (const collection of [DELTA_COLLECTION, PLAIN_COLLECTION]) {
    for (const id of ['a', 'b', 'c', 'd', 'e'])
      await master('POST', collection, { _id: id, v: 1, kind: id === 'd' || id === 'e' ? 'scrap' : 'keep' });
  }
  const store = Kinvey.DataStore.collection(DELTA_COLLECTION, Kinvey.DataStoreType.Sync, { useDeltaSet: true });
  const plain = Kinvey.DataStore.collection(PLAIN_COLLECTION, Kinvey.DataStoreType.Sync, { useDeltaSet: true });
  const pullOptions = () => ({ timeout: CALL_TIMEOUT_MS, autoPagination: { pageSize: 2 } });

  await flow('first pull', async () => ({
    pulled: await store.pull(undefined, pullOptions()),
    cache: await cached(store),
  }));
  await flow('first pull without a delta set', async () => ({
    pulled: await plain.pull(undefined, pullOptions()),
    cache: await cached(plain),
  }));

  // Writes after the first pull's X-Kinvey-Request-Start, in a later millisecond.
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (const collection of [DELTA_COLLECTION, PLAIN_COLLECTION]) {
    await master('PUT', `${collection}/a`, { v: 2, kind: 'keep' });
    await master('POST', collection, { _id: 'f', v: 1, kind: 'keep' });
    await master('DELETE', `${collection}/b`);
    await master('DELETE', `${collection}?query=${encodeURIComponent(JSON.stringify({ kind: 'scrap' }))}`);
  }

  await flow('second pull', async () => ({
    pulled: await store.pull(undefined, pullOptions()),
    cache: await cached(store),
  }));
  await flow('second pull without a delta set', async () => ({
    pulled: await plain.pull(undefined, pullOptions()),
    cache: await cached(plain),
  }));
  await flow('third pull, nothing changed', async () => ({
    pulled: await store.pull(undefined, pullOptions()),
    cache: await cached(store),
  }));
}

main()
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
