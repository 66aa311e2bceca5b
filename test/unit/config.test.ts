import { presetsOf } from '../../src/domain/files/images/image-presets';
import { ConfigError, loadConfig, parseAppDefinitions, type AppDefinition } from '../../src/config/load-config';
import { collectionPermissions, deltaSetCollections } from '../../src/domain/apps/app-registry';
import { filePermissions } from '../../src/domain/files/file-metadata';

const noFile = () => {
  throw new Error('no such file');
};

function problemsOf(env: Record<string, string>, readFile: (f: string) => string = noFile): string[] {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('an empty environment gives the embedded defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:8080',
      apps: null,
      documents: { kind: 'embedded' },
      storage: { kind: 'local' },
      uploadUrlTtlSeconds: 30,
      downloadUrlTtlSeconds: 3600,
      signingSecret: null,
      businessLogic: { timeoutMs: 2000, memoryMb: 64, isolatesPerApp: 3, flexTimeoutMs: 10000 },
    });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('every variable is read and typed', () => {
    const config = loadConfig({
      PORT: '9000',
      KINBASE_HOST: '0.0.0.0',
      KINBASE_DATA_DIR: '/tmp/kb',
      KINBASE_PUBLIC_URL: 'https://api.example.com/',
      KINBASE_APP_KEY: 'kid_abc',
      KINBASE_APP_SECRET: 'app-secret-1',
      KINBASE_MASTER_SECRET: 'master-secret-1',
      KINBASE_APP_NAME: 'Shop',
      MONGODB_URL: 'mongodb://db:27017',
      MONGODB_DB_PREFIX: 'kb_',
      KINBASE_STORAGE: 'gcs',
      GCS_BUCKET: 'my-bucket',
      GCS_KEY_FILE: '/k.json',
      GCS_API_ENDPOINT: 'http://127.0.0.1:4443/',
      GCS_HMAC_ACCESS_ID: 'GOOG1',
      GCS_HMAC_SECRET: 'hmacsecret',
      KINBASE_UPLOAD_URL_TTL_SECONDS: '60',
      KINBASE_DOWNLOAD_URL_TTL_SECONDS: '120',
      KINBASE_SIGNING_SECRET: 'x'.repeat(32),
      KINBASE_BL_TIMEOUT_MS: '500',
      KINBASE_BL_MEMORY_MB: '128',
      KINBASE_BL_ISOLATES_PER_APP: '4',
      KINBASE_FLEX_TIMEOUT_MS: '30000',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/tmp/kb',
      publicUrl: 'https://api.example.com',
      apps: [
        {
          appKey: 'kid_abc',
          appSecret: 'app-secret-1',
          masterSecret: 'master-secret-1',
          name: 'Shop',
          collections: {},
        },
      ],
      documents: { kind: 'mongodb', url: 'mongodb://db:27017', dbPrefix: 'kb_' },
      storage: {
        kind: 'gcs',
        bucket: 'my-bucket',
        keyFile: '/k.json',
        apiEndpoint: 'http://127.0.0.1:4443',
        hmac: { accessId: 'GOOG1', secret: 'hmacsecret' },
      },
      uploadUrlTtlSeconds: 60,
      downloadUrlTtlSeconds: 120,
      signingSecret: 'x'.repeat(32),
      businessLogic: { timeoutMs: 500, memoryMb: 128, isolatesPerApp: 4, flexTimeoutMs: 30000 },
    });
  });

  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ KINBASE_PUBLIC_URL: 'ftp://x' }, 'KINBASE_PUBLIC_URL'],
    [{ KINBASE_STORAGE: 'azure' }, 'KINBASE_STORAGE'],
    [{ KINBASE_STORAGE: 'gcs' }, 'GCS_BUCKET'],
    [{ MONGODB_URL: 'postgres://x' }, 'MONGODB_URL'],
    [{ KINBASE_UPLOAD_URL_TTL_SECONDS: '0' }, 'KINBASE_UPLOAD_URL_TTL_SECONDS'],
    [{ KINBASE_DOWNLOAD_URL_TTL_SECONDS: '-5' }, 'KINBASE_DOWNLOAD_URL_TTL_SECONDS'],
    [{ KINBASE_SIGNING_SECRET: 'short' }, 'KINBASE_SIGNING_SECRET'],
    [{ KINBASE_APP_KEY: 'kid_x' }, 'KINBASE_APP_SECRET'],
    [{ GCS_HMAC_ACCESS_ID: 'a', KINBASE_STORAGE: 'gcs', GCS_BUCKET: 'bucket' }, 'GCS_HMAC_SECRET'],
    [{ GCS_BUCKET: 'bucket' }, 'KINBASE_STORAGE'],
    [{ KINBASE_BL_TIMEOUT_MS: '10' }, 'KINBASE_BL_TIMEOUT_MS'],
    [{ KINBASE_BL_MEMORY_MB: '4' }, 'KINBASE_BL_MEMORY_MB'],
    [{ KINBASE_BL_ISOLATES_PER_APP: '0' }, 'KINBASE_BL_ISOLATES_PER_APP'],
    [{ KINBASE_FLEX_TIMEOUT_MS: 'soon' }, 'KINBASE_FLEX_TIMEOUT_MS'],
    [{ KINBASE_METRICS_TOKEN: 'short-token' }, 'KINBASE_METRICS_TOKEN'],
  ])('%j is refused with a message naming %s', (env, variable) => {
    expect(problemsOf(env as Record<string, string>).join('\n')).toContain(variable);
  });

  test.each([
    [{ KINBASE_STORAGE: 'azure' }, 'KINBASE_STORAGE is "azure"; allowed values are local, gcs, s3'],
    [{ KINBASE_STORAGE: 'gcs' }, 'GCS_BUCKET must be set when KINBASE_STORAGE is gcs'],
    [{ KINBASE_APP_KEY: 'kid_x' }, 'KINBASE_APP_KEY is set, so KINBASE_APP_SECRET must be set too'],
    [{ PORT: 'eighty' }, 'PORT is "eighty"; it must be a whole number'],
    [{ PORT: '70000' }, 'PORT is 70000; it must be at most 65535'],
    [{ KINBASE_PUBLIC_URL: 'ftp://x' }, 'KINBASE_PUBLIC_URL is "ftp://x", which is not an http:// or https:// origin'],
    [
      { KINBASE_SIGNING_SECRET: 'short-secret' },
      'KINBASE_SIGNING_SECRET is a 12-character value; it must be at least 32 characters long',
    ],
  ])('%j is explained in plain words: %s', (env, message) => {
    const problems = problemsOf(env);
    expect(problems.join('\n')).toContain(message);
    expect(problems.join('\n')).not.toMatch(/must match|must be equal to one of|must have propert/);
  });

  describe('S3', () => {
    const s3 = { KINBASE_STORAGE: 's3', S3_BUCKET: 'files', S3_ACCESS_KEY_ID: 'AKID', S3_SECRET_ACCESS_KEY: 'sekrit' };

    test('an R2 configuration: endpoint, region auto, path style, public URL', () => {
      const config = loadConfig({
        ...s3,
        S3_REGION: 'auto',
        S3_ENDPOINT: 'https://acc.r2.cloudflarestorage.com/',
        S3_FORCE_PATH_STYLE: 'true',
        S3_PUBLIC_URL: 'https://files.example.com/',
      });
      expect(config.storage).toEqual({
        kind: 's3',
        bucket: 'files',
        region: 'auto',
        endpoint: 'https://acc.r2.cloudflarestorage.com',
        accessKeyId: 'AKID',
        secretAccessKey: 'sekrit',
        forcePathStyle: true,
        publicUrl: 'https://files.example.com',
      });
    });

    test('on AWS the region defaults to us-east-1 and addressing is by virtual host', () => {
      expect(loadConfig(s3).storage).toEqual({
        kind: 's3',
        bucket: 'files',
        region: 'us-east-1',
        accessKeyId: 'AKID',
        secretAccessKey: 'sekrit',
        forcePathStyle: false,
      });
    });

    test.each([
      [{ KINBASE_STORAGE: 's3' }, 'S3_BUCKET is required when KINBASE_STORAGE is s3'],
      [{ KINBASE_STORAGE: 's3', S3_BUCKET: 'b1b' }, 'S3_ACCESS_KEY_ID is required when KINBASE_STORAGE is s3'],
      [{ KINBASE_STORAGE: 's3', S3_BUCKET: 'b1b' }, 'S3_SECRET_ACCESS_KEY is required when KINBASE_STORAGE is s3'],
      [{ ...s3, S3_FORCE_PATH_STYLE: 'true' }, 'S3_FORCE_PATH_STYLE=true needs S3_ENDPOINT'],
      [{ ...s3, S3_FORCE_PATH_STYLE: 'yes' }, 'S3_FORCE_PATH_STYLE'],
      [{ ...s3, S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT'],
      [{ S3_BUCKET: 'files' }, 'S3_BUCKET is set but KINBASE_STORAGE is not s3'],
      [
        { ...s3, S3_BUCKET: 'my.files', S3_ENDPOINT: 'https://minio.example.com' },
        'S3_BUCKET my.files has dots, which break TLS on virtual-host addresses: set S3_FORCE_PATH_STYLE=true',
      ],
    ])('%j stops the start with one plain line: %s', (env, message) => {
      const problems = problemsOf(env);
      expect(problems.join('\n')).toContain(message);
      expect(problems.join('\n')).not.toContain('sekrit');
    });
  });

  test("a secret's value never appears in a configuration error", () => {
    expect(problemsOf({ KINBASE_SIGNING_SECRET: 'short-secret' }).join('\n')).not.toContain('short-secret');
    expect(problemsOf({ KINBASE_METRICS_TOKEN: 'short-token' }).join('\n')).not.toContain('short-token');
  });

  test('mail is off without KINBASE_SMTP_URL, and on with it and KINBASE_MAIL_FROM; links last 1 hour (reset) and 1 day (verification)', () => {
    expect(loadConfig({}).mail).toBeNull();
    const config = loadConfig({
      KINBASE_SMTP_URL: 'smtps://mailer:p%40ss@mail.example.com:465',
      KINBASE_MAIL_FROM: 'Shop <no-reply@example.com>',
    });
    expect(config.mail).toEqual({
      smtpUrl: 'smtps://mailer:p%40ss@mail.example.com:465',
      from: 'Shop <no-reply@example.com>',
    });
    expect(config.accountLinks).toEqual({ resetTtlSeconds: 3600, verifyTtlSeconds: 86400 });
    expect(
      loadConfig({ KINBASE_RESET_LINK_TTL_SECONDS: '900', KINBASE_VERIFY_LINK_TTL_SECONDS: '3600' }).accountLinks,
    ).toEqual({ resetTtlSeconds: 900, verifyTtlSeconds: 3600 });
  });

  test.each([
    [{ KINBASE_SMTP_URL: 'smtp://mail.example.com' }, 'KINBASE_SMTP_URL is set, so KINBASE_MAIL_FROM must be set too'],
    [{ KINBASE_MAIL_FROM: 'a@b.c' }, 'KINBASE_MAIL_FROM is set, so KINBASE_SMTP_URL must be set too'],
    [{ KINBASE_SMTP_URL: 'http://mail.example.com', KINBASE_MAIL_FROM: 'a@b.c' }, 'KINBASE_SMTP_URL is a'],
    [{ KINBASE_SMTP_URL: 'smtp://mail.example.com', KINBASE_MAIL_FROM: 'nobody' }, 'KINBASE_MAIL_FROM is "nobody"'],
    [{ KINBASE_RESET_LINK_TTL_SECONDS: '10' }, 'KINBASE_RESET_LINK_TTL_SECONDS is 10; it must be at least 300'],
  ])('mail setting %j is one plain line: %s', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  test("an SMTP URL's password never appears in a configuration error", () => {
    const problems = problemsOf({
      KINBASE_SMTP_URL: 'ftp://mailer:hunter2@mail.example.com',
      KINBASE_MAIL_FROM: 'a@b.c',
    });
    expect(problems.join('\n')).toContain('KINBASE_SMTP_URL');
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('every wrong variable is listed at once', () => {
    expect(problemsOf({ PORT: 'x', KINBASE_STORAGE: 'y' })).toHaveLength(2);
  });

  test('KINBASE_APPS_FILE is validated and its collections permissions kept', () => {
    const apps = [
      {
        appKey: 'kid_one',
        appSecret: 'secret-one',
        masterSecret: 'master-one',
        collections: { notes: { permissions: 'private' } },
      },
    ];
    const config = loadConfig({ KINBASE_APPS_FILE: '/apps.json' }, () => JSON.stringify(apps));
    expect(config.apps).toEqual([{ ...apps[0], name: 'kid_one' }]);
  });

  test('KINBASE_APPS_FILE keeps a role-based permission table as given', () => {
    const table = { 'all-users': { create: 'always', read: 'entity' }, Editors: { update: 'grant', delete: 'never' } };
    const apps = [
      {
        appKey: 'kid_one',
        appSecret: 'secret-one',
        masterSecret: 'master-one',
        collections: { notes: { permissions: table } },
      },
    ];
    const app = loadConfig({ KINBASE_APPS_FILE: '/apps.json' }, () => JSON.stringify(apps)).apps?.[0];
    if (!app) throw new Error('no app');
    expect(collectionPermissions(app, 'notes')).toEqual(table);
  });

  test.each([
    ['an unknown access type', { Editors: { read: 'sometimes' } }],
    ['an unknown operation', { Editors: { list: 'always' } }],
    ['a __proto__ role', JSON.parse('{"__proto__": {"read": "always"}}')],
  ])('KINBASE_APPS_FILE refuses a role table with %s', (_name, permissions) => {
    const apps = [
      { appKey: 'k', appSecret: 'secret-1', masterSecret: 'secret-2', collections: { a: { permissions } } },
    ];
    // JSON.parse made __proto__ an own key, so the file text names it.
    const text = JSON.stringify(apps);
    expect(() => loadConfig({ KINBASE_APPS_FILE: '/apps.json' }, () => text)).toThrow(/collections\.a\.permissions/);
  });

  test("a collection entry without permissions starts with the collection's default: shared, and private for _blob", () => {
    const apps = [
      {
        appKey: 'kid_one',
        appSecret: 'secret-one',
        masterSecret: 'master-one',
        collections: { BooksDelta: { deltaSet: true }, notes: { indexes: ['title'] }, _blob: { indexes: ['tag'] } },
      },
    ];
    const app = loadConfig({ KINBASE_APPS_FILE: '/apps.json' }, () => JSON.stringify(apps)).apps?.[0];
    if (!app) throw new Error('no app');
    expect(collectionPermissions(app, 'BooksDelta')).toBe('shared');
    expect(collectionPermissions(app, 'notes')).toBe('shared');
    expect(filePermissions(app)).toBe('private');
    expect(deltaSetCollections(app)).toEqual(['BooksDelta']);
  });

  test.each([
    ['not JSON', '{', 'KINBASE_APPS_FILE cannot be read'],
    [
      'a bad permission level',
      JSON.stringify([
        { appKey: 'k', appSecret: 'secret-1', masterSecret: 'secret-2', collections: { a: { permissions: 'all' } } },
      ]),
      'KINBASE_APPS_FILE.0.collections.a.permissions is "all"; allowed values are shared, private, read-only, full',
    ],
    [
      'an unknown setting',
      JSON.stringify([{ appKey: 'k', appSecret: 'secret-1', masterSecret: 'secret-2', colections: {} }]),
      'KINBASE_APPS_FILE.0 has an unknown setting "colections"',
    ],
    ['a missing secret', JSON.stringify([{ appKey: 'k', appSecret: 'secret-1' }]), 'KINBASE_APPS_FILE.0.masterSecret'],
    [
      'a duplicate app key',
      JSON.stringify([
        { appKey: 'k', appSecret: 'secret-1', masterSecret: 'secret-2' },
        { appKey: 'k', appSecret: 'secret-3', masterSecret: 'secret-4' },
      ]),
      'twice',
    ],
    [
      'equal app and master secrets',
      JSON.stringify([{ appKey: 'k', appSecret: 'secret-1', masterSecret: 'secret-1' }]),
      'same appSecret and masterSecret',
    ],
    ...(
      [
        ['an image variant without fit', { thumb: { width: 10, format: 'webp' } }, 'imageVariants.thumb'],
        ['an image variant format', { thumb: { width: 10, fit: 'inside', format: 'tiff' } }, 'webp, jpeg, png, avif'],
        ['an image variant of 10000 pixels', { big: { width: 10000, fit: 'inside', format: 'webp' } }, 'big.width'],
        [
          'a cover variant without height',
          { sq: { width: 10, fit: 'cover', format: 'webp' } },
          'needs both width and height',
        ],
        ['an inside variant without size', { any: { fit: 'inside', format: 'webp' } }, 'needs a width or a height'],
        [
          'an image variant named __proto__',
          { ['__proto__']: { width: 1, fit: 'inside', format: 'webp' } },
          'reserved',
        ],
        ['an image variant name with a dot', { 'a.b': { width: 1, fit: 'inside', format: 'webp' } }, 'imageVariants'],
      ] as const
    ).map(([what, imageVariants, message]): [string, string, string] => [
      what,
      `[{"appKey":"k","appSecret":"secret-1","masterSecret":"secret-2","imageVariants":${JSON.stringify(imageVariants)}}]`,
      message,
    ]),
  ])('an apps file with %s is refused', (_what, content, message) => {
    expect(problemsOf({ KINBASE_APPS_FILE: '/apps.json' }, () => content).join('\n')).toContain(message);
  });

  test("an app's imageVariants are kept; without them the app has the default presets", () => {
    const imageVariants = { avatar: { width: 48, height: 48, fit: 'cover', format: 'avif', quality: 50 } };
    const apps = [
      { appKey: 'k1', appSecret: 'secret-1', masterSecret: 'secret-2', imageVariants },
      { appKey: 'k2', appSecret: 'secret-3', masterSecret: 'secret-4' },
    ];
    const loaded = loadConfig({ KINBASE_APPS_FILE: '/apps.json' }, () => JSON.stringify(apps)).apps ?? [];
    expect([...presetsOf(loaded[0] as AppDefinition).keys()]).toEqual(['avatar']);
    expect(Object.fromEntries(presetsOf(loaded[1] as AppDefinition))).toEqual({
      thumb: { width: 128, height: 128, fit: 'cover', format: 'webp' },
      medium: { width: 800, fit: 'inside', format: 'webp' },
    });
  });

  describe('environmentFile and flexServices', () => {
    const app = { appKey: 'kid_x', appSecret: 'secret-one', masterSecret: 'master-one' };
    const envFile = {
      schemaVersion: '1.0.0',
      configType: 'environment',
      collections: { books: { type: 'internal', permissions: 'read-only' } },
      customEndpoints: { hello: { type: 'external', service: 'svc', handlerName: 'hello' } },
      groups: { staff: { name: 'Staff' } },
      roles: { Intern: {} },
    };
    const files =
      (apps: unknown, env: unknown = envFile): ((f: string) => string) =>
      (f) => {
        if (f === '/etc/kinbase/apps.json') return JSON.stringify(apps);
        if (f === '/etc/kinbase/envs/env.json') return JSON.stringify(env);
        throw new Error(`ENOENT: no such file or directory, open '${f}'`);
      };
    const flexServices = { svc: { host: 'http://flex:10001', secret: 'shh' } };

    test("an app's environmentFile is read relative to the apps file and becomes its businessLogic, groups and collections", () => {
      const apps = [
        { ...app, environmentFile: 'envs/env.json', flexServices, collections: { notes: { permissions: 'private' } } },
      ];
      const config = loadConfig({ KINBASE_APPS_FILE: '/etc/kinbase/apps.json' }, files(apps));
      const loaded = config.apps?.[0];
      expect(loaded?.businessLogic?.customEndpoints.hello?.function).toEqual({
        type: 'external',
        service: 'svc',
        handlerName: 'hello',
        origin: 'customEndpoints.hello',
      });
      expect({ ...loaded?.businessLogic?.flexServices }).toEqual(flexServices);
      expect(loaded?.groups).toEqual([{ _id: 'staff', name: 'Staff', groups: [] }]);
      expect({ ...loaded?.collections }).toEqual({
        books: { permissions: 'read-only' },
        notes: { permissions: 'private' },
      });
      expect(loaded?.roles).toEqual([{ name: 'Intern' }]);
      expect(config.startupWarnings).toEqual([]);
    });

    test("a collection in both the app and its environmentFile keeps the app's deltaSet when the permissions agree", () => {
      const apps = [
        {
          ...app,
          environmentFile: 'envs/env.json',
          flexServices,
          collections: { books: { permissions: 'read-only', deltaSet: true } },
        },
      ];
      expect(
        loadConfig({ KINBASE_APPS_FILE: '/etc/kinbase/apps.json' }, files(apps)).apps?.[0]?.collections.books,
      ).toEqual({ permissions: 'read-only', deltaSet: true });
    });

    test("a collection in both, without permissions in the app, takes the environmentFile's", () => {
      const apps = [
        { ...app, environmentFile: 'envs/env.json', flexServices, collections: { books: { deltaSet: true } } },
      ];
      expect(
        loadConfig({ KINBASE_APPS_FILE: '/etc/kinbase/apps.json' }, files(apps)).apps?.[0]?.collections.books,
      ).toEqual({ permissions: 'read-only', deltaSet: true });
    });

    test.each([
      [
        'different permissions for one collection',
        [{ ...app, environmentFile: 'envs/env.json', flexServices, collections: { books: { permissions: 'full' } } }],
        'KINBASE_APPS_FILE app kid_x: collections.books.permissions is full, but its environmentFile says read-only',
      ],
      [
        'a missing environment file',
        [{ ...app, environmentFile: 'missing.json', flexServices }],
        'KINBASE_APPS_FILE app kid_x environmentFile /etc/kinbase/missing.json cannot be read as JSON: ENOENT',
      ],
      [
        'an endpoint on a service the app does not list',
        [{ ...app, environmentFile: 'envs/env.json' }],
        'customEndpoints.hello.service "svc" is not one of the app\'s flexServices (the app defines none)',
      ],
      [
        'a Flex host that is not an http URL',
        [{ ...app, flexServices: { svc: { host: 'flex:10001', secret: 'shh' } } }],
        'KINBASE_APPS_FILE.0.flexServices.svc.host is "flex:10001", which is not an http:// or https:// URL',
      ],
      [
        'an empty Flex secret',
        [{ ...app, flexServices: { svc: { host: 'http://flex', secret: '' } } }],
        'KINBASE_APPS_FILE.0.flexServices.svc.secret must not be empty',
      ],
      [
        'a reserved Flex service name',
        JSON.parse(
          '[{"appKey":"kid_x","appSecret":"secret-one","masterSecret":"master-one","flexServices":{"__proto__":{"host":"http://f","secret":"s"}}}]',
        ) as unknown[],
        'flexServices.__proto__ is a reserved name',
      ],
    ])('an apps file with %s is refused', (_what, apps, message) => {
      expect(problemsOf({ KINBASE_APPS_FILE: '/etc/kinbase/apps.json' }, files(apps)).join('\n')).toContain(message);
    });

    test('flexServices without an environmentFile are a startup warning', () => {
      const config = loadConfig({ KINBASE_APPS_FILE: '/etc/kinbase/apps.json' }, files([{ ...app, flexServices }]));
      expect(config.startupWarnings).toEqual([
        'KINBASE_APPS_FILE app kid_x: flexServices are not used, because the app names no environmentFile',
      ]);
      expect(config.apps?.[0]?.businessLogic).toBeUndefined();
    });

    test('the generated apps file of the data dir may not name an environmentFile', () => {
      const problems: string[] = [];
      parseAppDefinitions([{ ...app, environmentFile: 'env.json' }], '/data/apps.json', problems);
      expect(problems).toEqual(['/data/apps.json app kid_x: environmentFile is read only from KINBASE_APPS_FILE']);
    });
  });
});
