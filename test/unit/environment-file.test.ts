import { loadEnvironmentFile, type EnvironmentFileContext } from '../../src/config/environment-file';

const FILE = '/cfg/env/env.json';
const SOURCE = 'KINBASE_APPS_FILE app kid_x environmentFile';
const flexServices = { awesomeService: { host: 'http://localhost:10001/', secret: 'flex-secret' } };

/** A file as `kinvey appenv export` writes it (code in files next to it), plus an inline hook. */
const exported = {
  schemaVersion: '1.0.0',
  configType: 'environment',
  settings: { apiVersion: 3, emailVerification: { required: false }, passwordReset: null },
  collections: {
    books: { type: 'internal', permissions: 'shared' },
    orders: {
      type: 'external',
      permissions: 'full',
      service: 'awesomeService',
      serviceEnvironment: 'development',
      serviceObject: 'Orders',
    },
  },
  commonCode: { 'my-common-code': { codeFile: './common/my-common-code.js' }, inline: { code: 'var b = 2;' } },
  collectionHooks: {
    books: {
      onPreSave: { type: 'internal', codeFile: './hooks/books/onPreSave.js' },
      onPostFetch: {
        type: 'external',
        service: 'awesomeService',
        serviceEnvironment: 'development',
        handlerName: 'afterFetch',
      },
    },
    user: {
      onLoginSuccess: { type: 'internal', code: 'function onLoginSuccess(request, response) { response.continue(); }' },
    },
  },
  customEndpoints: {
    nightly: {
      type: 'internal',
      codeFile: './endpoints/nightly.js',
      schedule: { start: '2019-07-22T16:35:00Z', interval: '5-minutes' },
    },
    once: {
      type: 'external',
      service: 'awesomeService',
      serviceEnvironment: 'development',
      handlerName: 'runOnce',
      schedule: { start: '2019-07-22T16:35:00' },
    },
    plain: { type: 'internal', code: 'function onRequest(request, response) { response.complete(200); }' },
  },
  roles: { Intern: { name: 'Intern', description: 'Interns' } },
  groups: {
    myGroup: { name: 'My group', description: 'Description here', groups: ['otherGroup'] },
    otherGroup: { description: "Part of 'myGroup'" },
  },
  push: {
    android: { senderId: 'id123', apiKey: 'key123' },
    ios: { production: false, certificateFilename: 'dev.p12' },
  },
};

const codeFiles: Record<string, string> = {
  '/cfg/env/common/my-common-code.js': 'var a = 1;',
  '/cfg/env/hooks/books/onPreSave.js': 'function onPreSave(request, response) { response.continue(); }',
  '/cfg/env/endpoints/nightly.js': 'function onRequest(request, response) { response.complete(200); }',
};

function contextFor(envFile: unknown, files: Record<string, string> = codeFiles): EnvironmentFileContext {
  return {
    source: SOURCE,
    flexServices,
    readFile: (file) => {
      if (file === FILE) return typeof envFile === 'string' ? envFile : JSON.stringify(envFile);
      if (Object.hasOwn(files, file)) return files[file] as string;
      throw new Error(`ENOENT: no such file or directory, open '${file}'`);
    },
  };
}

function load(envFile: unknown, files?: Record<string, string>) {
  const problems: string[] = [];
  const warnings: string[] = [];
  const result = loadEnvironmentFile(FILE, contextFor(envFile, files), problems, warnings);
  return { result, problems, warnings };
}

const minimal = { schemaVersion: '1.0.0', configType: 'environment' };

describe('loadEnvironmentFile', () => {
  test('an exported environment loads into the expected Business Logic, collections and groups', () => {
    const { result, problems } = load(exported);
    expect(problems).toEqual([]);
    expect(result).not.toBeNull();
    const { businessLogic, collections, groups } = result!;
    expect(businessLogic.commonCode).toEqual([
      { name: 'my-common-code', code: 'var a = 1;' },
      { name: 'inline', code: 'var b = 2;' },
    ]);
    expect({ ...businessLogic.collectionHooks.books }).toEqual({
      onPreSave: {
        type: 'internal',
        code: codeFiles['/cfg/env/hooks/books/onPreSave.js'],
        origin: 'collectionHooks.books.onPreSave',
      },
      onPostFetch: {
        type: 'external',
        service: 'awesomeService',
        handlerName: 'afterFetch',
        origin: 'collectionHooks.books.onPostFetch',
      },
    });
    expect(businessLogic.collectionHooks.user?.onPostLogin).toMatchObject({
      type: 'internal',
      origin: 'collectionHooks.user.onLoginSuccess',
    });
    expect(businessLogic.customEndpoints.nightly).toEqual({
      function: {
        type: 'internal',
        code: codeFiles['/cfg/env/endpoints/nightly.js'],
        origin: 'customEndpoints.nightly',
      },
      schedule: { start: new Date('2019-07-22T16:35:00Z'), intervalSeconds: 300 },
    });
    expect(businessLogic.customEndpoints.once?.schedule).toEqual({
      start: new Date('2019-07-22T16:35:00Z'),
      intervalSeconds: null,
    });
    expect(businessLogic.customEndpoints.plain?.schedule).toBeUndefined();
    expect({ ...businessLogic.externalCollections }).toEqual({
      orders: { service: 'awesomeService', serviceObject: 'Orders' },
    });
    expect({ ...businessLogic.flexServices }).toEqual({
      awesomeService: { host: 'http://localhost:10001', secret: 'flex-secret' },
    });
    expect({ ...collections }).toEqual({ books: { permissions: 'shared' }, orders: { permissions: 'full' } });
    expect(groups).toEqual([
      { _id: 'myGroup', name: 'My group', description: 'Description here', groups: ['otherGroup'] },
      { _id: 'otherGroup', description: "Part of 'myGroup'", groups: [] },
    ]);
  });

  test('every map it builds has no prototype', () => {
    const { businessLogic, collections } = load(exported).result!;
    for (const map of [
      businessLogic.collectionHooks,
      businessLogic.collectionHooks.books,
      businessLogic.customEndpoints,
      businessLogic.externalCollections,
      businessLogic.flexServices,
      collections,
    ]) {
      expect(Object.getPrototypeOf(map)).toBeNull();
    }
  });

  test('what kinbase accepts but ignores is a warning, each named', () => {
    const { warnings } = load({
      ...exported,
      settings: { emailVerification: { required: false, auto: true }, passwordReset: 'https://x/reset' },
    });
    const text = warnings.join('\n');
    expect(text).toContain('push is not available');
    expect(text).not.toContain('settings.');
    expect(warnings.filter((w) => w.includes('serviceEnvironment is ignored'))).toEqual([
      expect.stringContaining('awesomeService (development)'),
    ]);
    expect(warnings.every((w) => w.startsWith(`${SOURCE} ${FILE}: `))).toBe(true);
  });

  test("the account settings are read: verification required and automatic, and the app's own reset page", () => {
    const { result: loaded, problems } = load({
      ...minimal,
      settings: { emailVerification: { required: true, auto: true }, passwordReset: 'https://app.example/reset' },
    });
    expect(problems).toEqual([]);
    expect(loaded?.accounts).toEqual({
      emailVerification: { required: true, auto: true },
      passwordResetPage: 'https://app.example/reset',
    });
    expect(load(minimal).result?.accounts).toEqual({
      emailVerification: { required: false, auto: false },
      passwordResetPage: null,
    });
  });

  test('roles and role-based permissions are read: roles by name, tables as given, all-users included', () => {
    const table = { 'all-users': { create: 'always', read: 'never' }, Intern: { read: 'grant', update: 'entity' } };
    const { result, problems, warnings } = load({
      ...exported,
      collections: { ...exported.collections, books: { type: 'internal', permissions: table } },
    });
    expect(problems).toEqual([]);
    expect(result!.roles).toEqual([{ name: 'Intern', description: 'Interns' }]);
    expect(result!.collections.books).toEqual({ permissions: table });
    expect(warnings.filter((w) => w.includes('role'))).toEqual([]);
  });

  test('a role table naming a role the file does not define is a warning', () => {
    const { warnings, problems } = load({
      ...minimal,
      collections: { books: { type: 'internal', permissions: { Auditor: { read: 'always' } } } },
    });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('collections.books.permissions names Auditor')]);
  });

  test('a nested group the file does not define is a warning', () => {
    const { warnings, problems } = load({ ...minimal, groups: { a: { groups: ['elsewhere'] } } });
    expect(problems).toEqual([]);
    expect(warnings.join('\n')).toContain('groups.a.groups names elsewhere, which the file does not define');
  });

  test('codeFile is read relative to the environment file, and absolute paths are kept', () => {
    const { result } = load(
      { ...minimal, commonCode: { rel: { codeFile: '../shared/x.js' }, abs: { codeFile: '/opt/y.js' } } },
      { '/cfg/shared/x.js': 'x', '/opt/y.js': 'y' },
    );
    expect(result?.businessLogic.commonCode).toEqual([
      { name: 'rel', code: 'x' },
      { name: 'abs', code: 'y' },
    ]);
  });

  const internal = { type: 'internal', code: 'function f() {}' };
  test.each([
    [
      'an unreadable codeFile',
      { collectionHooks: { books: { onPreSave: { type: 'internal', codeFile: './x.js' } } } },
      'collectionHooks.books.onPreSave.codeFile ./x.js cannot be read: ENOENT',
    ],
    [
      'an unknown hook name',
      { collectionHooks: { books: { onPreSafe: internal } } },
      'collectionHooks.books.onPreSafe is not a hook kinbase runs',
    ],
    [
      'a login hook off the user collection',
      { collectionHooks: { books: { onPreLogin: internal } } },
      'collectionHooks.books.onPreLogin: login hooks run only on the user collection',
    ],
    [
      'onLoginSuccess and onPostLogin together',
      { collectionHooks: { user: { onLoginSuccess: internal, onPostLogin: internal } } },
      'collectionHooks.user.onPostLogin is onPostLogin a second time',
    ],
    [
      'an unknown Flex service',
      { customEndpoints: { e1: { type: 'external', service: 'nope', handlerName: 'h' } } },
      'customEndpoints.e1.service "nope" is not one of the app\'s flexServices (known: awesomeService)',
    ],
    [
      'an external hook without handlerName',
      { collectionHooks: { books: { onPreSave: { type: 'external', service: 'awesomeService' } } } },
      'collectionHooks.books.onPreSave.handlerName must be set when type is external',
    ],
    [
      'an external hook with code',
      {
        collectionHooks: {
          books: { onPreSave: { type: 'external', service: 'awesomeService', handlerName: 'h', code: 'x' } },
        },
      },
      'collectionHooks.books.onPreSave is external, so code and codeFile cannot be set',
    ],
    [
      'an internal hook naming a service',
      { collectionHooks: { books: { onPreSave: { ...internal, service: 'awesomeService' } } } },
      'collectionHooks.books.onPreSave is internal, so service cannot be set',
    ],
    [
      'both code and codeFile',
      { commonCode: { c: { code: 'x', codeFile: './c.js' } } },
      'commonCode.c sets both code and codeFile',
    ],
    [
      'neither code nor codeFile',
      { customEndpoints: { e1: { type: 'internal' } } },
      'customEndpoints.e1 must set code or codeFile',
    ],
    [
      'an invalid schedule start',
      { customEndpoints: { e1: { ...internal, schedule: { start: 'next tuesday' } } } },
      'customEndpoints.e1.schedule.start is "next tuesday", which is not an ISO-8601 date and time',
    ],
    [
      'an impossible schedule date',
      { customEndpoints: { e1: { ...internal, schedule: { start: '2019-13-45T00:00:00Z' } } } },
      'customEndpoints.e1.schedule.start is "2019-13-45T00:00:00Z"',
    ],
    [
      'an unknown interval',
      { customEndpoints: { e1: { ...internal, schedule: { start: '2019-07-22T16:35:00Z', interval: 'monthly' } } } },
      'customEndpoints.e1.schedule.interval is "monthly"; allowed values are weekly, daily, hourly',
    ],
    [
      'a role table with an unknown access type',
      { collections: { books: { type: 'internal', permissions: { 'all-users': { read: 'sometimes' } } } } },
      'collections.books.permissions is a role table kinbase cannot read',
    ],
    [
      'a role table with an unknown operation',
      { collections: { books: { type: 'internal', permissions: { Employee: { list: 'always' } } } } },
      'collections.books.permissions is a role table kinbase cannot read',
    ],
    [
      'a role table naming __proto__',
      { collections: { books: { type: 'internal', permissions: JSON.parse('{"__proto__": {"read": "always"}}') } } },
      'collections.books.permissions is a role table kinbase cannot read',
    ],
    ['a role named all-users', { roles: { everyone: { name: 'all-users' } } }, 'roles.everyone is named "all-users"'],
    [
      'an unknown permission string',
      { collections: { books: { type: 'internal', permissions: 'all' } } },
      'collections.books.permissions is "all"; allowed values are private, full, shared, read-only',
    ],
    [
      'an external collection without serviceObject',
      { collections: { o: { type: 'external', permissions: 'full', service: 'awesomeService' } } },
      'collections.o.serviceObject must be set when type is external',
    ],
    [
      'an external collection on an unknown service',
      { collections: { o: { type: 'external', permissions: 'full', service: 'other', serviceObject: 'O' } } },
      'collections.o.service "other" is not one of the app\'s flexServices',
    ],
    [
      'a password-reset page that is not an http(s) URL',
      { settings: { emailVerification: { required: true }, passwordReset: 'javascript:alert(1)' } },
      'settings.passwordReset is "javascript:alert(1)"; it must be the http:// or https:// URL',
    ],
    ['an unknown top-level field', { pushh: {} }, `${SOURCE} ${FILE}: the file has an unknown setting "pushh"`],
    [
      'an unknown hook field',
      { collectionHooks: { books: { onPreSave: { ...internal, handler: 'x' } } } },
      'collectionHooks.books.onPreSave has an unknown setting "handler"',
    ],
    [
      'an unknown collection field',
      { collections: { books: { type: 'internal', permissions: 'full', name: 'b' } } },
      'collections.books has an unknown setting "name"',
    ],
    [
      'an unknown settings field',
      { settings: { emailVerifcation: {} } },
      'settings has an unknown setting "emailVerifcation"',
    ],
    ['a wrong configType', { configType: 'service' }, 'configType is "service"; allowed values are environment'],
    ['a wrong schemaVersion', { schemaVersion: '2.0.0' }, 'schemaVersion is "2.0.0"; allowed values are 1.0.0'],
    ['a bad endpoint name', { customEndpoints: { 'a b': internal } }, 'customEndpoints.a b is not a valid name'],
  ])('%s is a problem naming its path', (_what, fields, message) => {
    const { result, problems } = load({ ...minimal, ...fields }, {});
    expect(result).toBeNull();
    expect(problems.join('\n')).toContain(message);
    expect(problems.every((p) => p.startsWith(`${SOURCE} ${FILE}`))).toBe(true);
  });

  test.each(['__proto__', 'constructor', 'prototype'])('a map key %s is refused, never assigned', (key) => {
    const text =
      `{"schemaVersion":"1.0.0","configType":"environment","collections":{"${key}":{"type":"internal","permissions":"full"}},` +
      `"collectionHooks":{"books":{"${key}":{"type":"internal","code":"x"}}},"customEndpoints":{"${key}":{"type":"internal","code":"x"}}}`;
    const { result, problems } = load(text);
    expect(result).toBeNull();
    expect(problems.join('\n')).toContain(`collections.${key} is a reserved name`);
    expect(problems.join('\n')).toContain(`customEndpoints.${key} is a reserved name`);
    expect(problems.join('\n')).toContain(`collectionHooks.books.${key} is a reserved name`);
    expect(({} as Record<string, unknown>).type).toBeUndefined();
  });

  test('a file that is not JSON is one problem naming the file', () => {
    const { result, problems } = load('{ not json');
    expect(result).toBeNull();
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${SOURCE} ${FILE} cannot be read as JSON`))]);
  });

  test('every bad entry of one file is listed at once', () => {
    const { problems } = load(
      {
        ...minimal,
        collections: { a: { type: 'internal', permissions: 'all' } },
        customEndpoints: { e1: { type: 'internal' } },
      },
      {},
    );
    expect(problems).toHaveLength(2);
  });
});
