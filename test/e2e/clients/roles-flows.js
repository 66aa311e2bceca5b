/**
 * Role flows both SDK generations run against a kinbase server whose environment file defines the
 * role `Reviewer` and makes `reviews` a collection all users may add to but only Reviewers may
 * read; `notes` is private. A writer saves into both (a note readable by the role through
 * `_acl.roles.r`); a reader sees nothing, is granted the role (by an administrator with the master
 * secret, as Kinvey requires), and then sees both without logging in again. Env: KINBASE_URL,
 * APP_KEY, MASTER_SECRET. test/e2e/sdk-roles.test.ts asserts the lines.
 */
const { flow } = require('./flow-report');

async function admin(method, path) {
  const auth = Buffer.from(`${process.env.APP_KEY}:${process.env.MASTER_SECRET}`).toString('base64');
  const res = await fetch(`${process.env.KINBASE_URL}${path}`, {
    method,
    headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/json' },
    body: method === 'PUT' ? '{}' : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

async function runRoleFlows({ Kinvey, sdk }) {
  const { User, DataStore, DataStoreType, Query } = Kinvey;
  const reviews = DataStore.collection('reviews', DataStoreType.Network);
  const notes = DataStore.collection('notes', DataStoreType.Network);
  const mine = () => new Query().equalTo('sdk', sdk);
  const ids = async (store) => (await store.find(mine()).toPromise()).map((e) => e._id).sort();
  const stamp = Date.now().toString(36);
  const state = {};

  const signupAndLogin = async (username) => {
    await User.signup({ username, password: 'pw-roles' });
    if (await User.getActiveUser()) await User.logout();
    return User.login(username, 'pw-roles');
  };

  await flow('the role from the environment file', async () => {
    const roles = await admin('GET', `/roles/${process.env.APP_KEY}`);
    const reviewer = roles.find((role) => role.name === 'Reviewer');
    state.roleId = reviewer._id;
    return { name: reviewer.name, description: reviewer.description };
  });

  await flow('the writer saves a review and a note for the role, and cannot read the review back', async () => {
    await signupAndLogin(`${sdk}-writer-${stamp}`);
    await reviews.save({ _id: `${sdk}-review`, sdk, stars: 4 });
    await notes.save({ _id: `${sdk}-note`, sdk, _acl: { roles: { r: [state.roleId] } } });
    return { reviews: await ids(reviews), notes: await ids(notes) };
  });

  await flow('the reader without the role sees neither', async () => {
    await User.logout();
    const reader = await signupAndLogin(`${sdk}-reader-${stamp}`);
    state.readerId = reader._id;
    return { reviews: await ids(reviews), notes: await ids(notes) };
  });

  await flow('the reader with the role sees both, in the same session', async () => {
    await admin('PUT', `/user/${process.env.APP_KEY}/${state.readerId}/roles/${state.roleId}`);
    await settled(async () => (await ids(reviews)).length > 0);
    const one = await reviews.findById(`${sdk}-review`).toPromise();
    return { reviews: await ids(reviews), notes: await ids(notes), stars: one.stars };
  });

  await flow('the reader cannot grant a role to themselves', async () => {
    const user = await User.getActiveUser();
    const res = await fetch(
      `${process.env.KINBASE_URL}/user/${process.env.APP_KEY}/${state.readerId}/roles/${state.roleId}`,
      { method: 'PUT', headers: { Authorization: `Kinvey ${user._kmd.authtoken}` } },
    );
    return { status: res.status, error: (await res.json()).error };
  });

  await flow('the reader whose role is revoked sees neither again', async () => {
    await admin('DELETE', `/user/${process.env.APP_KEY}/${state.readerId}/roles/${state.roleId}`);
    await settled(async () => (await ids(reviews)).length === 0);
    return { reviews: await ids(reviews), notes: await ids(notes) };
  });
  await User.logout();
}

/**
 * With several worker processes (the e2e servers run 2), a membership change made through one
 * worker reaches the session cache of the others through the cluster's primary, in milliseconds
 * rather than at once (docs/roles.md): wait up to a second for it, then let the flow assert.
 */
async function settled(done) {
  for (let i = 0; i < 20 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

module.exports = { runRoleFlows };
