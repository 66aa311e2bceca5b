/**
 * The app flows both SDK generations run against a kinbase server. Each flow prints one line
 * `FLOW {"flow":…,"value":…}` or `FLOW {"flow":…,"error":{name,message,debug}}` with what the app
 * saw; test/e2e/sdk.test.ts asserts them. Flows run in order and later ones use earlier results,
 * but each catches its own failure so one broken flow does not hide the others.
 */
const CALL_TIMEOUT_MS = 8_000;
const { flow, expectFailure } = require('./flow-report');

const asBuffer = (data) =>
  Buffer.isBuffer(data)
    ? data
    : typeof data === 'string'
      ? Buffer.from(data, 'utf8')
      : Buffer.from(JSON.stringify(data));

/**
 * @param {object} o
 * @param {any} o.Kinvey the initialised SDK module
 * @param {string} o.sdk short name, used in usernames and collection names
 * @param {Buffer} o.fileContent bytes to upload
 * @param {string} o.mimeType
 * @param {string} o.readOnlyCollection a collection the apps file makes read-only
 */
async function runFlows({ Kinvey, sdk, fileContent, mimeType, readOnlyCollection }) {
  const { User, DataStore, DataStoreType, Files, Query } = Kinvey;
  // A fresh options object per call: 3.x Files.stream() sets `stream: true` on the object it is given.
  const opts = () => ({ timeout: CALL_TIMEOUT_MS });
  const username = `${sdk}-${Date.now().toString(36)}`;
  const password = 'correct horse battery';
  const profiles = DataStore.collection(`profiles_${sdk.replace(/\W/g, '_')}`, DataStoreType.Network);
  const state = {};

  await flow('ping', async () => {
    const response = await Kinvey.ping(opts());
    return { kinvey: response.kinvey, version: response.version };
  });

  await flow('signup and login', async () => {
    const signedUp = await User.signup({ username, password, email: `${username}@example.com` }, opts());
    const activeAfterSignup = Boolean(await User.getActiveUser());
    // 3.x makes the new user active; 7.x does not (signup issues no token from API v6 on).
    if (activeAfterSignup) await User.logout(opts());
    const user = await User.login(username, password, opts());
    const active = await User.getActiveUser();
    state.userId = user._id;
    return {
      signedUpId: signedUp._id,
      signedUpUsername: signedUp.username,
      activeAfterSignup,
      loggedInId: user._id,
      activeUsername: active && active.username,
      hasAuthtoken: Boolean(active && active._kmd && active._kmd.authtoken),
    };
  });

  await flow('_me', async () => {
    const me = await User.me(opts());
    const active = await User.getActiveUser();
    return {
      id: me._id,
      username: me.username,
      email: me.email,
      sessionKeepsToken: Boolean(active && active._kmd && active._kmd.authtoken),
    };
  });

  await flow('logout and login again', async () => {
    await User.logout(opts());
    const afterLogout = await User.getActiveUser();
    const user = await User.login(username, password, opts());
    const me = await User.me(opts());
    return { activeAfterLogout: afterLogout !== null && afterLogout !== undefined, loggedInId: user._id, meId: me._id };
  });

  await flow('wrong password', async () => {
    await User.logout(opts());
    const error = await expectFailure(() => User.login(username, 'not the password', opts()));
    const activeAfterFailure = Boolean(await User.getActiveUser());
    const user = await User.login(username, password, opts());
    return { error, activeAfterFailure, reloggedId: user._id };
  });

  const filename = `${sdk}-pixel.${mimeType === 'image/png' ? 'png' : 'txt'}`;
  const uploaded = await flow('Files.upload (public, resumable)', async () => {
    const file = await Files.upload(fileContent, { filename, mimeType, public: true }, opts());
    state.fileId = file._id;
    return {
      _id: file._id,
      _filename: file._filename,
      _public: file._public,
      mimeType: file.mimeType,
      size: file.size,
    };
  });

  await flow('Files.stream', async () => {
    const file = await Files.stream(state.fileId, opts());
    const fetched = await fetch(file._downloadURL);
    const bytes = Buffer.from(await fetched.arrayBuffer());
    return {
      _id: file._id,
      downloadURL: file._downloadURL,
      status: fetched.status,
      identical: bytes.equals(fileContent),
    };
  });

  await flow('Files.download', async () => {
    const data = await Files.download(state.fileId, opts());
    return {
      kind: Buffer.isBuffer(data) ? 'Buffer' : typeof data,
      length: asBuffer(data).length,
      identical: asBuffer(data).equals(fileContent),
    };
  });

  await flow('Files.find by mimeType', async () => {
    const query = new Query().equalTo('mimeType', mimeType);
    const files = await Files.find(query, opts());
    return {
      includesUpload: files.some((f) => f._id === state.fileId),
      allMatch: files.every((f) => f.mimeType === mimeType),
      allHaveDownloadURL: files.every((f) => typeof f._downloadURL === 'string'),
    };
  });

  await flow('save an entity holding a KinveyFile reference', async () => {
    const fileId = uploaded ? state.fileId : 'not-uploaded';
    const alice = await profiles.save(
      { name: 'Alice', age: 31, city: 'Berlin', avatar: { _type: 'KinveyFile', _id: fileId } },
      opts(),
    );
    const others = [];
    for (const doc of [
      { name: 'Bob', age: 25, city: 'Berlin' },
      { name: 'Carol', age: 40, city: 'Paris' },
      { name: 'Dan', age: 35, city: 'Berlin' },
    ])
      others.push(await profiles.save(doc, opts()));
    state.aliceId = alice._id;
    state.danId = others[2]._id;
    return {
      hasId: typeof alice._id === 'string',
      creator: alice._acl && alice._acl.creator,
      userId: state.userId,
      hasLmt: Boolean(alice._kmd && alice._kmd.lmt),
      avatarType: alice.avatar && alice.avatar._type,
      avatarId: alice.avatar && alice.avatar._id,
      fileId,
    };
  });

  await flow('find with query, sort, limit, skip and fields', async () => {
    const query = new Query().equalTo('city', 'Berlin').ascending('age');
    query.limit = 2;
    query.skip = 1;
    query.fields = ['name', 'age'];
    const docs = await profiles.find(query, opts()).toPromise();
    return docs.map((d) => ({ name: d.name, age: d.age, hasCity: 'city' in d }));
  });

  await flow('findById', async () => {
    const doc = await profiles.findById(state.aliceId, opts()).toPromise();
    return { _id: doc._id, name: doc.name, age: doc.age };
  });

  await flow('count', async () => {
    const berlin = await profiles.count(new Query().equalTo('city', 'Berlin'), opts()).toPromise();
    const all = await profiles.count(undefined, opts()).toPromise();
    return { berlin, all };
  });

  await flow('reference arrives resolved', async () => {
    const doc = await profiles.findById(state.aliceId, opts()).toPromise();
    const avatar = doc.avatar || {};
    const fetched = avatar._downloadURL ? await fetch(avatar._downloadURL) : null;
    const bytes = fetched ? Buffer.from(await fetched.arrayBuffer()) : Buffer.alloc(0);
    return {
      _type: avatar._type,
      _id: avatar._id,
      hasDownloadURL: typeof avatar._downloadURL === 'string',
      status: fetched && fetched.status,
      identical: bytes.equals(fileContent),
    };
  });

  await flow('remove by query and by id', async () => {
    const byQuery = await profiles.remove(new Query().equalTo('city', 'Paris'), opts());
    const byId = await profiles.removeById(state.danId, opts());
    const left = await profiles.find(new Query().ascending('name'), opts()).toPromise();
    return { byQuery, byId, left: left.map((d) => d.name) };
  });

  await flow('permission denial keeps the user logged in', async () => {
    const readOnly = DataStore.collection(readOnlyCollection, DataStoreType.Network);
    const error = await expectFailure(() => readOnly.save({ note: 'not allowed' }, opts()));
    const active = await User.getActiveUser();
    const me = await User.me(opts());
    return { error, stillActive: Boolean(active), meId: me._id };
  });

  await flow('sync store push and paged pull', async () => {
    const name = `notes_${sdk.replace(/\W/g, '_')}`;
    const store = DataStore.collection(name, DataStoreType.Sync);
    for (const n of [1, 2, 3]) await store.save({ text: `note ${n}`, n });
    const pushed = await store.push(opts());
    await store.clear();
    const pulled = await store.pull(new Query().ascending('n'), { ...opts(), autoPagination: { pageSize: 2 } });
    const local = await store.find(new Query().ascending('n')).toPromise();
    const network = await DataStore.collection(name, DataStoreType.Network)
      .find(new Query().ascending('n'), opts())
      .toPromise();
    return {
      pushed: pushed.map((r) => ({
        hasError: Boolean(r.error),
        serverId: Boolean(r.entity && r.entity._id && !(r.entity._kmd && r.entity._kmd.local)),
      })),
      pulled,
      local: local.map((d) => d.text),
      localIdsFromServer: local.every((d) => network.some((s) => s._id === d._id)),
      network: network.map((d) => d.text),
    };
  });

  await flow('Files.removeById', async () => {
    const removed = await Files.removeById(state.fileId, opts());
    const afterwards = await expectFailure(() => Files.stream(state.fileId, opts()));
    return { removed, afterwards };
  });

  await flow('entities come back in creation order without a sort', async () => {
    const store = DataStore.collection(`ordered_${sdk.replace(/\W/g, '_')}`, DataStoreType.Network);
    const created = [];
    for (let i = 0; i < 15; i++) created.push((await store.save({ i }, opts()))._id);
    const found = await store.find(undefined, opts()).toPromise();
    return { inOrder: JSON.stringify(found.map((d) => d._id)) === JSON.stringify(created), count: found.length };
  });

  await flow('logout', async () => {
    await User.logout(opts());
    return { active: Boolean(await User.getActiveUser()) };
  });

  await flow('signup without a password, then log in with the password the signup returned', async () => {
    const name = `${username}-implicit`;
    const signedUp = await User.signup({ username: name }, opts());
    if (await User.getActiveUser()) await User.logout(opts());
    const generated = (signedUp.data || signedUp).password;
    const user = await User.login(name, generated, opts());
    const sameUser = user._id === signedUp._id;
    await User.logout(opts());
    return { hasPassword: typeof generated === 'string' && generated.length >= 16, sameUser };
  });
}

module.exports = { runFlows };
