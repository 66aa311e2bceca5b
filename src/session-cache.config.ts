/**
 * The session cache's settings from the environment (KINBASE_SESSION_CACHE_TTL_MS, validated by
 * loadConfig through envSchema like every other variable). Kept beside config.ts rather than in
 * its Config while that file is being reworked; pure, never reads process.env itself.
 */
import { envSchema } from '../schemas/config.schema';
import { describeSettingErrors, validatorFor } from '../schemas/validator';
import { ConfigError } from './config';
import { DEFAULT_SESSION_CACHE } from './domain/session-cache';

export interface SessionCacheSettings {
  /** How long a resolved session may be served from memory; 0 turns the cache off. */
  readonly ttlMs: number;
  readonly maxEntries: number;
}

const schema = {
  type: 'object',
  properties: { KINBASE_SESSION_CACHE_TTL_MS: envSchema.properties.KINBASE_SESSION_CACHE_TTL_MS },
  required: ['KINBASE_SESSION_CACHE_TTL_MS'],
} as const;

/** The settings in `env`. Throws ConfigError naming the variable when its value is not allowed. */
export function loadSessionCacheSettings(env: Record<string, string | undefined>): SessionCacheSettings {
  const value = env.KINBASE_SESSION_CACHE_TTL_MS;
  const input: Record<string, unknown> = value === undefined || value === '' ? {} : { KINBASE_SESSION_CACHE_TTL_MS: value };
  const validate = validatorFor<{ KINBASE_SESSION_CACHE_TTL_MS: number }>(schema, { coerce: true });
  if (!validate(input)) throw new ConfigError(describeSettingErrors(validate.errors, schema));
  return Object.freeze({ ttlMs: input.KINBASE_SESSION_CACHE_TTL_MS, maxEntries: DEFAULT_SESSION_CACHE.maxEntries });
}
