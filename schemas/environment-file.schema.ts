import type { FromSchema } from 'json-schema-to-ts';

/**
 * kinvey-cli's environment configuration file (schemaVersion 1.0.0, configType environment), as
 * `kinvey appenv export` writes it and its README documents. The structure is checked here;
 * rules that depend on other fields (code or codeFile, internal or external, known Flex services,
 * hook names) are checked by loadEnvironmentFile, which names the entry in plain words.
 */

const code = { type: 'string', minLength: 1 } as const;
const codeFile = { type: 'string', minLength: 1, description: 'a path relative to the environment file' } as const;
const functionKind = { type: 'string', enum: ['internal', 'external'] } as const;
const serviceFields = {
  service: { type: 'string', minLength: 1, description: "a key of the app's flexServices" },
  serviceEnvironment: { type: 'string' },
} as const;

/** `collectionHooks.<collection>.<hook>` and the function part of `customEndpoints.<name>`. */
const hookSchema = {
  type: 'object',
  properties: { type: functionKind, code, codeFile, ...serviceFields, handlerName: { type: 'string', minLength: 1 } },
  required: ['type'],
  additionalProperties: false,
} as const;

const endpointSchema = {
  type: 'object',
  properties: {
    ...hookSchema.properties,
    schedule: {
      type: 'object',
      properties: {
        start: { type: 'string', minLength: 1, description: 'an ISO-8601 date and time' },
        interval: {
          type: 'string',
          enum: ['weekly', 'daily', 'hourly', '30-minutes', '10-minutes', '5-minutes', '1-minute'],
        },
      },
      required: ['start'],
      additionalProperties: false,
    },
  },
  required: ['type'],
  additionalProperties: false,
} as const;

const collectionSchema = {
  type: 'object',
  properties: {
    type: functionKind,
    // A string (private, full, shared, read-only) or a role-based object; loadEnvironmentFile decides.
    permissions: { type: ['string', 'object'] },
    ...serviceFields,
    serviceObject: { type: 'string', minLength: 1 },
  },
  required: ['type', 'permissions'],
  additionalProperties: false,
} as const;

export const environmentFileSchema = {
  type: 'object',
  properties: {
    schemaVersion: { type: 'string', enum: ['1.0.0'] },
    configType: { type: 'string', enum: ['environment'] },
    settings: {
      type: 'object',
      properties: {
        apiVersion: { type: ['number', 'string'] },
        name: { type: 'string' },
        emailVerification: {
          type: 'object',
          properties: {
            required: { type: 'boolean' },
            auto: { type: 'boolean' },
            since: { type: ['string', 'null'] },
          },
          required: ['required'],
          additionalProperties: false,
        },
        // The export writes null when no URL is set.
        passwordReset: { type: ['string', 'null'] },
      },
      additionalProperties: false,
    },
    collections: { type: 'object', additionalProperties: collectionSchema },
    commonCode: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { code, codeFile }, additionalProperties: false },
    },
    collectionHooks: { type: 'object', additionalProperties: { type: 'object', additionalProperties: hookSchema } },
    customEndpoints: { type: 'object', additionalProperties: endpointSchema },
    roles: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { name: { type: 'string' }, description: { type: ['string', 'null'] } },
        additionalProperties: false,
      },
    },
    groups: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          description: { type: 'string' },
          groups: { type: 'array', items: { type: 'string', minLength: 1 } },
        },
        additionalProperties: false,
      },
    },
    push: {
      type: 'object',
      properties: {
        android: {
          type: 'object',
          properties: { senderId: { type: 'string' }, apiKey: { type: 'string' } },
          additionalProperties: false,
        },
        ios: {
          type: 'object',
          // The export writes certificateFilename; `appenv apply` wants certificateFilePath.
          properties: {
            production: { type: 'boolean' },
            certificateFilePath: { type: 'string' },
            certificateFilename: { type: 'string' },
            password: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  required: ['schemaVersion', 'configType'],
  additionalProperties: false,
} as const;

export type EnvironmentFile = FromSchema<typeof environmentFileSchema>;
export type EnvironmentHook = FromSchema<typeof hookSchema>;
export type EnvironmentEndpoint = FromSchema<typeof endpointSchema>;
export type EnvironmentCollection = FromSchema<typeof collectionSchema>;
