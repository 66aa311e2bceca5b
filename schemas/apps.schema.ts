import type { FromSchema } from 'json-schema-to-ts';

/** Kinvey's four fixed collection permission levels (kinvey-cli's names). */
export const permissionLevelSchema = {
  type: 'string',
  enum: ['shared', 'private', 'read-only', 'full'],
} as const;

/** What a role may do for one operation: on every entity, as the entity's `_acl` says, only where it names the role, or not at all. */
export const accessTypeSchema = { type: 'string', enum: ['always', 'entity', 'grant', 'never'] } as const;

/** One role's row of a role-based permission table; an operation left out is `never`. */
export const rolePermissionsSchema = {
  type: 'object',
  properties: {
    create: accessTypeSchema,
    read: accessTypeSchema,
    update: accessTypeSchema,
    delete: accessTypeSchema,
  },
  additionalProperties: false,
} as const;

/**
 * A collection's permissions: a fixed level, or Kinvey's role-based table (role name or id, or
 * `all-users`, to that role's access per operation). An empty table lets no user in.
 */
export const collectionPermissionsSchema = {
  anyOf: [
    permissionLevelSchema,
    {
      type: 'object',
      maxProperties: 200,
      propertyNames: { minLength: 1, maxLength: 200, not: { enum: ['__proto__', 'constructor', 'prototype'] } },
      additionalProperties: rolePermissionsSchema,
    },
  ],
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

/** One account mail's text: `{{appName}}`, `{{link}}`, `{{username}}`, `{{usernames}}` and `{{expiresIn}}` are filled in. */
export const mailTemplateSchema = {
  type: 'object',
  properties: {
    subject: { type: 'string', minLength: 1, maxLength: 200 },
    text: { type: 'string', minLength: 1, maxLength: 20000, description: 'the plain-text part (always sent)' },
    html: {
      type: 'string',
      minLength: 1,
      maxLength: 50000,
      description: 'the HTML part; filled-in values are HTML-escaped',
    },
  },
  required: ['subject', 'text'],
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
    mailTemplates: {
      type: 'object',
      description: 'the account mails of this app, replacing the built-in ones',
      properties: {
        passwordReset: mailTemplateSchema,
        emailVerification: mailTemplateSchema,
        forgotUsername: mailTemplateSchema,
      },
      additionalProperties: false,
    },
  },
  required: ['appKey', 'appSecret', 'masterSecret'],
  additionalProperties: false,
} as const;

export const appsFileSchema = { type: 'array', items: appDefinitionSchema, minItems: 1 } as const;

export type AppDefinitionInput = FromSchema<typeof appDefinitionSchema>;
export type MailTemplateInput = FromSchema<typeof mailTemplateSchema>;
export type PermissionLevel = FromSchema<typeof permissionLevelSchema>;
export type AccessType = FromSchema<typeof accessTypeSchema>;
/** The four operations a permission table rules. */
export type Operation = 'create' | 'read' | 'update' | 'delete';
/** A role-based permission table: role (name, id or `all-users`) to its access per operation. */
export type RolePermissionTable = Readonly<Record<string, Readonly<Partial<Record<Operation, AccessType>>>>>;
export type CollectionPermissions = PermissionLevel | RolePermissionTable;
