/**
 * kinvey-node-sdk 3.12.5 reading an app copied by `kinbase pull`: a pulled user's login is refused
 * until a password reset, a new user reads the pulled entities, follows a KinveyFile reference and
 * downloads a pulled public file.
 * Env: KINBASE_URL, APP_KEY, APP_SECRET, PULLED_USERNAME, PULLED_PASSWORD, COLLECTION, FILE_ID.
 */
const Kinvey = require('kinvey-node-sdk');
const { flow, expectFailure } = require('./flow-report');

Kinvey.init({
  appKey: process.env.APP_KEY,
  appSecret: process.env.APP_SECRET,
  apiHostname: process.env.KINBASE_URL,
  micHostname: process.env.KINBASE_URL,
});

async function main() {
  const { User, DataStore, DataStoreType, Files } = Kinvey;
  await flow('pulled user login', async () => {
    const error = await expectFailure(() => User.login(process.env.PULLED_USERNAME, process.env.PULLED_PASSWORD));
    return { name: error.name, message: error.message };
  });
  await flow('new user reads the pulled collection', async () => {
    await User.signup({ username: `reader-${Date.now().toString(36)}`, password: 'a long enough password' });
    const entities = await DataStore.collection(process.env.COLLECTION, DataStoreType.Network).find().toPromise();
    const withFile = entities.find((e) => e.cover && e.cover._type === 'KinveyFile');
    const cover = withFile ? await fetch(withFile.cover._downloadURL) : null;
    return {
      ids: entities.map((e) => e._id).sort(),
      coverStatus: cover ? cover.status : null,
      coverBytes: cover ? Buffer.from(await cover.arrayBuffer()).toString('base64') : null,
    };
  });
  await flow('Files.stream of a pulled file', async () => {
    const file = await Files.stream(process.env.FILE_ID);
    const fetched = await fetch(file._downloadURL);
    return { public: file._public, base64: Buffer.from(await fetched.arrayBuffer()).toString('base64') };
  });
}

main()
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`${err && err.stack}\n`);
    process.exit(1);
  });
