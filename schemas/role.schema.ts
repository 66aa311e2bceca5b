import type { FromSchema } from 'json-schema-to-ts';

/**
 * Body of `POST /roles/:appKey` and `PUT /roles/:appKey/:roleId` (Kinvey: a non-empty string
 * `name`, an optional string `description`; other properties, `_id` included, are ignored). A name
 * is what role-based collection permissions name the role by, so `all-users` and the three keys
 * that reach an object's prototype are refused.
 */
export const roleBodySchema = {
  type: 'object',
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      not: { enum: ['all-users', '__proto__', 'constructor', 'prototype'] },
    },
    description: { type: 'string', maxLength: 2000 },
  },
  required: ['name'],
  additionalProperties: true,
} as const;

export type RoleBody = FromSchema<typeof roleBodySchema>;
