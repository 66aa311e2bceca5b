import type { FromSchema } from 'json-schema-to-ts';

/** The environment variables kinbase reads, validated (with string coercion) at start. */
export const envSchema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    KINBASE_HOST: { type: 'string', description: 'an IP address or host name to listen on, such as 127.0.0.1 or 0.0.0.0', pattern: '^[A-Za-z0-9.:_-]{1,253}$', default: '127.0.0.1' },
    KINBASE_DATA_DIR: { type: 'string', minLength: 1, default: './data' },
    KINBASE_PUBLIC_URL: { type: 'string', description: 'an http:// or https:// origin with an optional path, such as https://api.example.com', pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$' },
    KINBASE_APPS_FILE: { type: 'string', minLength: 1 },
    KINBASE_APP_KEY: { type: 'string', description: '1-64 letters, digits, _ or -', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    KINBASE_APP_SECRET: { type: 'string', minLength: 8 },
    KINBASE_MASTER_SECRET: { type: 'string', minLength: 8 },
    KINBASE_APP_NAME: { type: 'string', minLength: 1 },
    MONGODB_URL: { type: 'string', description: 'a mongodb:// or mongodb+srv:// connection string', pattern: '^mongodb(\\+srv)?://' },
    MONGODB_DB_PREFIX: { type: 'string', description: 'up to 32 letters, digits, _ or -', pattern: '^[A-Za-z0-9_-]{0,32}$', default: 'kinbase_' },
    KINBASE_STORAGE: { type: 'string', enum: ['local', 'gcs'], default: 'local' },
    GCS_BUCKET: { type: 'string', description: 'a bucket name (3-223 lowercase letters, digits, dots, _ or -)', pattern: '^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$' },
    GCS_KEY_FILE: { type: 'string', minLength: 1 },
    GCS_API_ENDPOINT: { type: 'string', description: 'an http:// or https:// URL', pattern: '^https?://' },
    GCS_HMAC_ACCESS_ID: { type: 'string', minLength: 1 },
    GCS_HMAC_SECRET: { type: 'string', minLength: 1 },
    KINBASE_UPLOAD_URL_TTL_SECONDS: { type: 'integer', minimum: 1, maximum: 604800, default: 30 },
    KINBASE_DOWNLOAD_URL_TTL_SECONDS: { type: 'integer', minimum: 1, maximum: 604800, default: 3600 },
    KINBASE_PENDING_UPLOAD_TTL_SECONDS: { type: 'integer', minimum: 60, default: 86400 },
    KINBASE_DELTASET_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
    KINBASE_SIGNING_SECRET: { type: 'string', minLength: 32 },
    KINBASE_BODY_LIMIT: { type: 'string', description: 'a size such as 512kb or 5mb', pattern: '^[0-9]+(b|kb|mb)?$', default: '5mb' },
    KINBASE_LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
  },
  dependencies: {
    KINBASE_APP_KEY: ['KINBASE_APP_SECRET', 'KINBASE_MASTER_SECRET'],
    KINBASE_APP_SECRET: ['KINBASE_APP_KEY'],
    KINBASE_MASTER_SECRET: ['KINBASE_APP_KEY'],
    GCS_HMAC_ACCESS_ID: ['GCS_HMAC_SECRET'],
    GCS_HMAC_SECRET: ['GCS_HMAC_ACCESS_ID'],
  },
  if: { properties: { KINBASE_STORAGE: { const: 'gcs' } }, required: ['KINBASE_STORAGE'] },
  then: { required: ['GCS_BUCKET'] },
  required: ['PORT', 'KINBASE_HOST', 'KINBASE_DATA_DIR', 'MONGODB_DB_PREFIX', 'KINBASE_STORAGE', 'KINBASE_UPLOAD_URL_TTL_SECONDS',
    'KINBASE_DOWNLOAD_URL_TTL_SECONDS', 'KINBASE_PENDING_UPLOAD_TTL_SECONDS', 'KINBASE_DELTASET_RETENTION_DAYS', 'KINBASE_BODY_LIMIT', 'KINBASE_LOG_LEVEL'],
} as const;

export type EnvInput = FromSchema<typeof envSchema>;
