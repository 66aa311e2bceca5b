import type { FromSchema } from 'json-schema-to-ts';

export const collectionPermissionsSchema = {
  type: 'string',
  enum: ['shared', 'private', 'read-only', 'full'],
} as const;

/** One Flex service an app calls: where it listens and the shared secret it checks. */
export const flexServiceSchema = {
  type: 'object',
  properties: {
    host: { type: 'string', pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$', description: 'an http:// or https:// URL' },
    secret: { type: 'string', minLength: 1 },
  },
  required: ['host', 'secret'],
  additionalProperties: false,
} as const;

/** One app of KINBASE_APPS_FILE (a JSON array of these), or of the generated apps file. */
export const appDefinitionSchema = {
  type: 'object',
  properties: {
    appKey: { type: 'string', description: '1-64 letters, digits, _ or -', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    appSecret: { type: 'string', minLength: 8 },
    masterSecret: { type: 'string', minLength: 8 },
    name: { type: 'string', minLength: 1 },
    collections: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          permissions: collectionPermissionsSchema,
          deltaSet: { type: 'boolean', description: 'serve GET .../_deltaset and keep tombstones of deleted entities' },
          indexes: {
            type: 'array',
            description:
              'fields (dotted paths such as "address.city") to index, for queries, sorts and paging that do not scan',
            maxItems: 32,
            uniqueItems: true,
            items: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^.$][^.]*(\\.[^.$][^.]*)*$' },
          },
        },
        // No `permissions`: shared, what Kinvey gives a new collection (and kinbase an unlisted one).
        additionalProperties: false,
      },
    },
    environmentFile: {
      type: 'string',
      minLength: 1,
      description: "kinvey-cli's environment file (`kinvey appenv export`), relative to the apps file's directory",
    },
    imageVariants: {
      type: 'object',
      description: 'image variant presets by name (1-32 letters, digits, _ or -), at most 16',
      maxProperties: 16,
      propertyNames: { pattern: '^[A-Za-z0-9_-]{1,32}$' },
      additionalProperties: {
        type: 'object',
        properties: {
          width: { type: 'integer', minimum: 1, maximum: 4096 },
          height: { type: 'integer', minimum: 1, maximum: 4096 },
          fit: { type: 'string', enum: ['cover', 'inside', 'contain'] },
          format: { type: 'string', enum: ['webp', 'jpeg', 'png', 'avif'] },
          quality: { type: 'integer', minimum: 1, maximum: 100 },
        },
        required: ['fit', 'format'],
        additionalProperties: false,
      },
    },
    flexServices: {
      type: 'object',
      description: 'Flex services by the name or id the environment file uses',
      additionalProperties: flexServiceSchema,
    },
  },
  required: ['appKey', 'appSecret', 'masterSecret'],
  additionalProperties: false,
} as const;

export const appsFileSchema = { type: 'array', items: appDefinitionSchema, minItems: 1 } as const;

export type AppDefinitionInput = FromSchema<typeof appDefinitionSchema>;
export type CollectionPermissions = FromSchema<typeof collectionPermissionsSchema>;
