import { isDeepStrictEqual } from 'node:util';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { envSchema, type EnvInput } from '../../schemas/config.schema';
import { appsFileSchema, type AppDefinitionInput } from '../../schemas/apps.schema';
import { describeSettingErrors, validatorFor } from '../../schemas/validator';
import { loadEnvironmentFile } from './environment-file';
import type { AppDefinition, CollectionSettings } from '../domain/apps/app-definition';
import { isReservedKey } from '../domain/access/safe-keys';

export type { AppDefinition, CollectionPermissions, CollectionSettings } from '../domain/apps/app-definition';

export type DocumentsConfig =
  | { readonly kind: 'embedded'; readonly sync: 'normal' | 'full' }
  | {
      readonly kind: 'mongodb';
      readonly url: string;
      readonly dbPrefix: string;
      /** Longest silence on a connection before a call fails with 503 (KINBASE_STORE_TIMEOUT_MS). */
      readonly timeoutMs?: number;
    };

export type StorageConfig =
  | { readonly kind: 'local' }
  | {
      readonly kind: 'gcs';
      readonly bucket: string;
      readonly keyFile?: string;
      readonly apiEndpoint?: string;
      readonly hmac?: { readonly accessId: string; readonly secret: string };
      /** Longest wait for one request to the bucket before a call fails with 503 (KINBASE_STORE_TIMEOUT_MS). */
      readonly timeoutMs?: number;
    }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly region: string;
      /** Absent: AWS's regional endpoint. */
      readonly endpoint?: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly forcePathStyle: boolean;
      /** Base URL under which the bucket's public copies are readable (bucket policy, website, CDN). */
      readonly publicUrl?: string;
    };

export interface Config {
  readonly port: number;
  /** Address to listen on: loopback unless KINBASE_HOST says otherwise (0.0.0.0 serves every interface). */
  readonly host: string;
  readonly dataDir: string;
  /** Origin (plus optional path prefix, no trailing slash) of every URL handed to clients. */
  readonly publicUrl: string;
  /** Apps from KINBASE_APPS_FILE or KINBASE_APP_*; null means "generate one, keep it in the data dir". */
  readonly apps: readonly AppDefinition[] | null;
  readonly documents: DocumentsConfig;
  readonly storage: StorageConfig;
  readonly uploadUrlTtlSeconds: number;
  readonly downloadUrlTtlSeconds: number;
  readonly pendingUploadTtlSeconds: number;
  /** Days tombstones of deleted entities are kept for delta sets; an older `since` is refused. */
  readonly deltaSetRetentionDays: number;
  /** How long a resolved session token is served from memory (KINBASE_SESSION_CACHE_TTL_MS); 0: never. */
  readonly sessionCacheTtlMs: number;
  /**
   * Calls to each store in flight at once (KINBASE_MAX_DOCUMENT_CALLS, KINBASE_MAX_OBJECT_CALLS):
   * past them a request is refused with 503 at once, so a slow store cannot make memory grow.
   */
  readonly maxInFlight: { readonly documents: number; readonly objects: number };
  /**
   * After SIGTERM, how long the instance keeps accepting while it answers /readyz with 503 and
   * closes every connection after its answer (KINBASE_DRAIN_DELAY_MS), so the load balancer moves
   * its clients away before the listener closes.
   */
  readonly drainDelayMs: number;
  /** Bearer token for GET /metrics (master credentials of any app work too); null: master only. */
  readonly metricsToken: string | null;
  /** Serve the browser console at /console (KINBASE_CONSOLE, on by default). */
  readonly console: boolean;
  /** Business Logic limits: per call of internal code (time, isolate memory, isolates per app), per Flex call. */
  readonly businessLogic: {
    readonly timeoutMs: number;
    readonly memoryMb: number;
    readonly isolatesPerApp: number;
    readonly flexTimeoutMs: number;
  };
  /**
   * Account mails (password reset, e-mail verification, forgotten usernames) over SMTP; null: mail
   * is off and the user rpc routes only record their state in `_kmd`.
   */
  readonly mail: MailConfig | null;
  /** How long a password-reset link and an e-mail-verification link stay usable. */
  readonly accountLinks: { readonly resetTtlSeconds: number; readonly verifyTtlSeconds: number };
  /** HMAC key of the local storage backend; null means "generate one, keep it in the data dir". */
  readonly signingSecret: string | null;
  readonly bodyLimit: string;
  readonly logLevel: string;
  /**
   * Worker processes that serve the one port (KINBASE_WORKERS; default: the cores this process may
   * use). 1 is a single process; above 1, a primary process forks them (server.ts).
   */
  readonly workers: number;
  /** Settings that were accepted but are ignored (environment file entries kinbase does not run); server.ts logs them. */
  readonly startupWarnings: readonly string[];
}

/** KINBASE_SMTP_URL (smtp:// with STARTTLS, smtps:// implicit TLS) and KINBASE_MAIL_FROM. */
export interface MailConfig {
  readonly smtpUrl: string;
  readonly from: string;
}

/** Thrown by loadConfig; `problems` lists every invalid variable, one line each. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type FileReader = (file: string) => string;

/**
 * Builds the validated, frozen configuration from an environment map. Pure apart from reading
 * the file KINBASE_APPS_FILE names (through `readFile`). Throws ConfigError naming every bad
 * variable; never reads process.env itself.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: FileReader = (f) => readFileSync(f, 'utf8'),
): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(envSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const validate = validatorFor<EnvInput>(envSchema, { coerce: true });
  if (!validate(input)) throw new ConfigError(describeSettingErrors(validate.errors, envSchema));
  const e = input;

  const problems: string[] = [];
  if (e.KINBASE_APPS_FILE && e.KINBASE_APP_KEY)
    problems.push('KINBASE_APPS_FILE and KINBASE_APP_KEY are exclusive: set one of them');
  if (e.KINBASE_STORAGE !== 'gcs' && (e.GCS_BUCKET || e.GCS_HMAC_ACCESS_ID))
    problems.push('GCS_* variables are set but KINBASE_STORAGE is not gcs');
  if (e.KINBASE_SMTP_URL) checkSmtpUrl(e.KINBASE_SMTP_URL, problems);
  problems.push(...s3Problems(e));
  const warnings: string[] = [];
  const apps = loadApps(e, readFile, problems, warnings);
  if (problems.length > 0) throw new ConfigError(problems);

  const port = e.PORT;
  const config: Config = {
    port,
    host: e.KINBASE_HOST,
    dataDir: path.resolve(e.KINBASE_DATA_DIR),
    publicUrl: (e.KINBASE_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    apps,
    documents: e.MONGODB_URL
      ? { kind: 'mongodb', url: e.MONGODB_URL, dbPrefix: e.MONGODB_DB_PREFIX, timeoutMs: e.KINBASE_STORE_TIMEOUT_MS }
      : { kind: 'embedded', sync: e.KINBASE_EMBEDDED_SYNC },
    storage:
      e.KINBASE_STORAGE === 's3'
        ? s3Storage(e)
        : e.KINBASE_STORAGE === 'gcs'
          ? {
              kind: 'gcs',
              bucket: e.GCS_BUCKET as string,
              timeoutMs: e.KINBASE_STORE_TIMEOUT_MS,
              ...(e.GCS_KEY_FILE ? { keyFile: e.GCS_KEY_FILE } : {}),
              ...(e.GCS_API_ENDPOINT ? { apiEndpoint: e.GCS_API_ENDPOINT.replace(/\/+$/, '') } : {}),
              ...(e.GCS_HMAC_ACCESS_ID && e.GCS_HMAC_SECRET
                ? { hmac: { accessId: e.GCS_HMAC_ACCESS_ID, secret: e.GCS_HMAC_SECRET } }
                : {}),
            }
          : { kind: 'local' },
    uploadUrlTtlSeconds: e.KINBASE_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: e.KINBASE_DOWNLOAD_URL_TTL_SECONDS,
    pendingUploadTtlSeconds: e.KINBASE_PENDING_UPLOAD_TTL_SECONDS,
    deltaSetRetentionDays: e.KINBASE_DELTASET_RETENTION_DAYS,
    sessionCacheTtlMs: e.KINBASE_SESSION_CACHE_TTL_MS,
    drainDelayMs: e.KINBASE_DRAIN_DELAY_MS,
    maxInFlight: { documents: e.KINBASE_MAX_DOCUMENT_CALLS, objects: e.KINBASE_MAX_OBJECT_CALLS },
    metricsToken: e.KINBASE_METRICS_TOKEN ?? null,
    console: e.KINBASE_CONSOLE !== 'off',
    businessLogic: {
      timeoutMs: e.KINBASE_BL_TIMEOUT_MS,
      memoryMb: e.KINBASE_BL_MEMORY_MB,
      isolatesPerApp: e.KINBASE_BL_ISOLATES_PER_APP,
      flexTimeoutMs: e.KINBASE_FLEX_TIMEOUT_MS,
    },
    mail: e.KINBASE_SMTP_URL && e.KINBASE_MAIL_FROM ? { smtpUrl: e.KINBASE_SMTP_URL, from: e.KINBASE_MAIL_FROM } : null,
    accountLinks: {
      resetTtlSeconds: e.KINBASE_RESET_LINK_TTL_SECONDS,
      verifyTtlSeconds: e.KINBASE_VERIFY_LINK_TTL_SECONDS,
    },
    signingSecret: e.KINBASE_SIGNING_SECRET ?? null,
    bodyLimit: e.KINBASE_BODY_LIMIT,
    logLevel: e.KINBASE_LOG_LEVEL,
    workers: e.KINBASE_WORKERS ?? availableParallelism(),
    startupWarnings: warnings,
  };
  return deepFreeze(config);
}

/** The SMTP URL must parse, and name a host; credentials in it must be percent-encoded. */
function checkSmtpUrl(value: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('KINBASE_SMTP_URL is not a URL (percent-encode @, / and : in the user name and password)');
    return;
  }
  if (url.hostname === '') problems.push('KINBASE_SMTP_URL names no host');
}

const S3_VARIABLES = [
  'S3_BUCKET',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_FORCE_PATH_STYLE',
  'S3_PUBLIC_URL',
] as const;

/** One plain line per missing or contradictory S3 setting (the secret's value is never quoted). */
function s3Problems(e: EnvInput): string[] {
  if (e.KINBASE_STORAGE !== 's3') {
    const set = S3_VARIABLES.filter((name) => e[name] !== undefined);
    return set.length > 0
      ? [`${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set but KINBASE_STORAGE is not s3`]
      : [];
  }
  const problems: string[] = [];
  for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const)
    if (!e[name]) problems.push(`${name} is required when KINBASE_STORAGE is s3`);
  if (!e.S3_ENDPOINT && e.S3_FORCE_PATH_STYLE === 'true')
    problems.push('S3_FORCE_PATH_STYLE=true needs S3_ENDPOINT (AWS itself is addressed by virtual host)');
  if (e.S3_BUCKET?.includes('.') && e.S3_FORCE_PATH_STYLE !== 'true' && e.S3_ENDPOINT?.startsWith('https:'))
    problems.push(
      `S3_BUCKET ${e.S3_BUCKET} has dots, which break TLS on virtual-host addresses: set S3_FORCE_PATH_STYLE=true`,
    );
  return problems;
}

function s3Storage(e: EnvInput): StorageConfig {
  return {
    kind: 's3',
    bucket: e.S3_BUCKET as string,
    region: e.S3_REGION,
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT.replace(/\/+$/, '') } : {}),
    accessKeyId: e.S3_ACCESS_KEY_ID as string,
    secretAccessKey: e.S3_SECRET_ACCESS_KEY as string,
    forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
    ...(e.S3_PUBLIC_URL ? { publicUrl: e.S3_PUBLIC_URL.replace(/\/+$/, '') } : {}),
  };
}

function loadApps(e: EnvInput, readFile: FileReader, problems: string[], warnings: string[]): AppDefinition[] | null {
  if (e.KINBASE_APP_KEY) {
    return [
      normaliseApp({
        appKey: e.KINBASE_APP_KEY,
        appSecret: e.KINBASE_APP_SECRET as string,
        masterSecret: e.KINBASE_MASTER_SECRET as string,
        ...(e.KINBASE_APP_NAME ? { name: e.KINBASE_APP_NAME } : {}),
      }),
    ];
  }
  if (!e.KINBASE_APPS_FILE) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(e.KINBASE_APPS_FILE));
  } catch (err) {
    problems.push(`KINBASE_APPS_FILE cannot be read as JSON: ${(err as Error).message}`);
    return null;
  }
  return parseAppDefinitions(parsed, 'KINBASE_APPS_FILE', problems, {
    readFile,
    baseDir: path.dirname(e.KINBASE_APPS_FILE),
    warnings,
  });
}

/** How an apps file's `environmentFile` entries are read (only KINBASE_APPS_FILE may name them). */
export interface EnvironmentFileAccess {
  readonly readFile: FileReader;
  /** `environmentFile` is relative to this directory. */
  readonly baseDir: string;
  readonly warnings: string[];
}

/**
 * Validates a JSON array of app definitions (the apps file, or the generated one in the data dir).
 * With `files`, each app's `environmentFile` is loaded into `businessLogic`, `groups` and
 * `collections`; without, naming one is a problem.
 */
export function parseAppDefinitions(
  value: unknown,
  source: string,
  problems: string[],
  files?: EnvironmentFileAccess,
): AppDefinition[] {
  const validate = validatorFor<AppDefinitionInput[]>(appsFileSchema);
  if (!validate(value)) {
    problems.push(...describeSettingErrors(validate.errors, appsFileSchema, source));
    return [];
  }
  const apps = value.map((input) => withEnvironmentFile(normaliseApp(input), input, source, problems, files));
  for (const app of apps) checkImageVariants(app, source, problems);
  const keys = new Set<string>();
  for (const app of apps) {
    if (keys.has(app.appKey)) problems.push(`${source} lists app key ${app.appKey} twice`);
    keys.add(app.appKey);
    if (app.appSecret === app.masterSecret)
      problems.push(`${source}: app ${app.appKey} uses the same appSecret and masterSecret`);
  }
  return apps;
}

function normaliseApp(app: AppDefinitionInput): AppDefinition {
  return {
    appKey: app.appKey,
    appSecret: app.appSecret,
    masterSecret: app.masterSecret,
    name: app.name ?? app.appKey,
    collections: app.collections ?? {},
    ...(app.mailTemplates ? { mailTemplates: app.mailTemplates } : {}),
    ...(app.imageVariants ? { imageVariants: app.imageVariants } : {}),
  };
}

/** What the schema cannot say about `imageVariants`: one problem line per bad preset. */
function checkImageVariants(app: AppDefinition, source: string, problems: string[]): void {
  for (const [name, preset] of Object.entries(app.imageVariants ?? {})) {
    const where = `${source} app ${app.appKey}: imageVariants.${name}`;
    if (isReservedKey(name)) problems.push(`${where} is a reserved name and cannot be used`);
    else if (preset.fit !== 'inside' && !(preset.width && preset.height))
      problems.push(`${where} needs both width and height for fit ${preset.fit}`);
    else if (!preset.width && !preset.height) problems.push(`${where} needs a width or a height`);
  }
}

/**
 * Adds an app's environment file. Its collections join the app's own; a collection both name
 * must have the same permissions there (the app's entry then adds its deltaSet), else it is a
 * problem; an app entry without permissions takes the file's.
 */
function withEnvironmentFile(
  app: AppDefinition,
  input: AppDefinitionInput,
  source: string,
  problems: string[],
  files?: EnvironmentFileAccess,
): AppDefinition {
  const where = `${source} app ${app.appKey}`;
  const flexServices: AppDefinitionInput['flexServices'] = input.flexServices ?? {};
  for (const name of Object.keys(flexServices))
    if (isReservedKey(name)) problems.push(`${where}: flexServices.${name} is a reserved name and cannot be used`);
  if (input.environmentFile === undefined) {
    if (Object.keys(flexServices).length > 0)
      files?.warnings.push(`${where}: flexServices are not used, because the app names no environmentFile`);
    return app;
  }
  if (!files) {
    problems.push(`${where}: environmentFile is read only from KINBASE_APPS_FILE`);
    return app;
  }
  const file = path.resolve(files.baseDir, input.environmentFile);
  const loaded = loadEnvironmentFile(
    file,
    { readFile: files.readFile, flexServices, source: `${where} environmentFile` },
    problems,
    files.warnings,
  );
  if (!loaded) return app;
  const collections: Record<string, CollectionSettings> = Object.create(null) as Record<string, CollectionSettings>;
  Object.assign(collections, loaded.collections);
  for (const [name, own] of Object.entries(app.collections)) {
    const fromFile = loaded.collections[name];
    if (fromFile && own.permissions === undefined) {
      collections[name] = { ...own, permissions: fromFile.permissions };
      continue;
    }
    if (fromFile && !isDeepStrictEqual(fromFile.permissions, own.permissions)) {
      problems.push(
        `${where}: collections.${name}.permissions is ${shownPermissions(own.permissions)}, but its environmentFile says ${shownPermissions(fromFile.permissions)}: make them the same (or drop one)`,
      );
    }
    collections[name] = own;
  }
  return {
    ...app,
    collections,
    businessLogic: loaded.businessLogic,
    groups: loaded.groups,
    accounts: loaded.accounts,
    roles: loaded.roles,
  };
}

function shownPermissions(permissions: CollectionSettings['permissions']): string {
  return typeof permissions === 'string' ? permissions : JSON.stringify(permissions);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
