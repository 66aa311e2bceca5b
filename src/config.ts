import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema, type EnvInput } from '../schemas/config.schema';
import { appsFileSchema, type AppDefinitionInput, type CollectionPermissions } from '../schemas/apps.schema';
import { describeSettingErrors, validatorFor } from '../schemas/validator';

export type { CollectionPermissions };

export interface CollectionSettings {
  readonly permissions: CollectionPermissions;
  /** Serve `_deltaset` and keep tombstones of deleted entities (off by default). */
  readonly deltaSet?: boolean;
}

export interface AppDefinition {
  readonly appKey: string;
  readonly appSecret: string;
  readonly masterSecret: string;
  readonly name: string;
  readonly collections: Readonly<Record<string, CollectionSettings>>;
}

export type DocumentsConfig =
  | { readonly kind: 'embedded' }
  | { readonly kind: 'mongodb'; readonly url: string; readonly dbPrefix: string };

export type StorageConfig =
  | { readonly kind: 'local' }
  | {
      readonly kind: 'gcs';
      readonly bucket: string;
      readonly keyFile?: string;
      readonly apiEndpoint?: string;
      readonly hmac?: { readonly accessId: string; readonly secret: string };
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
  /** HMAC key of the local storage backend; null means "generate one, keep it in the data dir". */
  readonly signingSecret: string | null;
  readonly bodyLimit: string;
  readonly logLevel: string;
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
export function loadConfig(env: Record<string, string | undefined>, readFile: FileReader = (f) => readFileSync(f, 'utf8')): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(envSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const validate = validatorFor<EnvInput>(envSchema, { coerce: true });
  if (!validate(input)) throw new ConfigError(describeSettingErrors(validate.errors, envSchema));
  const e = input as EnvInput;

  const problems: string[] = [];
  if (e.KINBASE_APPS_FILE && e.KINBASE_APP_KEY) problems.push('KINBASE_APPS_FILE and KINBASE_APP_KEY are exclusive: set one of them');
  if (e.KINBASE_STORAGE !== 'gcs' && (e.GCS_BUCKET || e.GCS_HMAC_ACCESS_ID)) problems.push('GCS_* variables are set but KINBASE_STORAGE is not gcs');
  const apps = loadApps(e, readFile, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const port = e.PORT;
  const config: Config = {
    port,
    host: e.KINBASE_HOST,
    dataDir: path.resolve(e.KINBASE_DATA_DIR),
    publicUrl: (e.KINBASE_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    apps,
    documents: e.MONGODB_URL ? { kind: 'mongodb', url: e.MONGODB_URL, dbPrefix: e.MONGODB_DB_PREFIX } : { kind: 'embedded' },
    storage: e.KINBASE_STORAGE === 'gcs'
      ? {
          kind: 'gcs',
          bucket: e.GCS_BUCKET as string,
          ...(e.GCS_KEY_FILE ? { keyFile: e.GCS_KEY_FILE } : {}),
          ...(e.GCS_API_ENDPOINT ? { apiEndpoint: e.GCS_API_ENDPOINT.replace(/\/+$/, '') } : {}),
          ...(e.GCS_HMAC_ACCESS_ID && e.GCS_HMAC_SECRET ? { hmac: { accessId: e.GCS_HMAC_ACCESS_ID, secret: e.GCS_HMAC_SECRET } } : {}),
        }
      : { kind: 'local' },
    uploadUrlTtlSeconds: e.KINBASE_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: e.KINBASE_DOWNLOAD_URL_TTL_SECONDS,
    pendingUploadTtlSeconds: e.KINBASE_PENDING_UPLOAD_TTL_SECONDS,
    deltaSetRetentionDays: e.KINBASE_DELTASET_RETENTION_DAYS,
    signingSecret: e.KINBASE_SIGNING_SECRET ?? null,
    bodyLimit: e.KINBASE_BODY_LIMIT,
    logLevel: e.KINBASE_LOG_LEVEL,
  };
  return deepFreeze(config);
}

function loadApps(e: EnvInput, readFile: FileReader, problems: string[]): AppDefinition[] | null {
  if (e.KINBASE_APP_KEY) {
    return [normaliseApp({
      appKey: e.KINBASE_APP_KEY,
      appSecret: e.KINBASE_APP_SECRET as string,
      masterSecret: e.KINBASE_MASTER_SECRET as string,
      ...(e.KINBASE_APP_NAME ? { name: e.KINBASE_APP_NAME } : {}),
    })];
  }
  if (!e.KINBASE_APPS_FILE) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(e.KINBASE_APPS_FILE));
  } catch (err) {
    problems.push(`KINBASE_APPS_FILE cannot be read as JSON: ${(err as Error).message}`);
    return null;
  }
  const apps = parseAppDefinitions(parsed, 'KINBASE_APPS_FILE', problems);
  return apps;
}

/** Validates a JSON array of app definitions (the apps file, or the generated one in the data dir). */
export function parseAppDefinitions(value: unknown, source: string, problems: string[]): AppDefinition[] {
  const validate = validatorFor<AppDefinitionInput[]>(appsFileSchema);
  if (!validate(value)) {
    problems.push(...describeSettingErrors(validate.errors, appsFileSchema, source));
    return [];
  }
  const apps = value.map(normaliseApp);
  const keys = new Set<string>();
  for (const app of apps) {
    if (keys.has(app.appKey)) problems.push(`${source} lists app key ${app.appKey} twice`);
    keys.add(app.appKey);
    if (app.appSecret === app.masterSecret) problems.push(`${source}: app ${app.appKey} uses the same appSecret and masterSecret`);
  }
  return apps;
}

function normaliseApp(app: AppDefinitionInput): AppDefinition {
  return { appKey: app.appKey, appSecret: app.appSecret, masterSecret: app.masterSecret, name: app.name ?? app.appKey, collections: app.collections ?? {} };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
