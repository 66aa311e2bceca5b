/**
 * Business Logic as the official SDKs reach it: collection hooks behind DataStore saves and reads,
 * custom endpoints behind CustomEndpoint.execute, an external (Flex-backed) collection. The server
 * runs test/fixtures/business-logic/env.json; test/e2e/sdk-business-logic.test.ts asserts the lines.
 */
const { flow, expectFailure } = require('./flow-report');

async function runBusinessLogicFlows({ Kinvey, sdk }) {
  const { User, DataStore, DataStoreType, CustomEndpoint } = Kinvey;
  const username = `${sdk}-bl-${Date.now()}`;
  const books = DataStore.collection('books', DataStoreType.Network);
  const widgets = DataStore.collection('widgets', DataStoreType.Network);

  await flow('setup', async () => {
    await User.signup({ username, password: 'pw-bl' });
    if (!(await User.getActiveUser())) await User.login(username, 'pw-bl');
    return username;
  });
  const shelf = sdk === 'node-sdk-3' ? 'N' : 'J';
  await flow('save through the pre-save hook', async () => {
    const saved = await books.save({ _id: `${sdk === 'node-sdk-3' ? 'n' : 'j'}23456789012`, title: `${shelf}ovel` });
    return { _id: saved._id, shelf: saved.shelf, savedBy: saved.savedBy, postField: saved.postField };
  });
  await flow('read through the post-fetch hook', async () => {
    const found = await books.find().toPromise();
    return found.map((book) => book.readAt);
  });
  await flow('internal endpoint', () => CustomEndpoint.execute('shelfReport', { shelf }));
  await flow('external endpoint', async () => {
    const echoed = await CustomEndpoint.execute('flexEcho', { from: sdk });
    return { body: echoed.body, username: echoed.username, hookType: echoed.hookType };
  });
  await flow('unknown endpoint', () => expectFailure(() => CustomEndpoint.execute('nope', {})));
  await flow('external collection', async () => {
    const saved = await widgets.save({ name: `${sdk} gear` });
    const again = await widgets.findById(saved._id).toPromise();
    return { stamped: saved.stamped, name: again.name };
  });
}

module.exports = { runBusinessLogicFlows };
