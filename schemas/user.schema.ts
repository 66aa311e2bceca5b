import type { FromSchema } from 'json-schema-to-ts';

const username = { type: 'string', minLength: 1, maxLength: 256 } as const;
const password = { type: 'string', minLength: 1, maxLength: 4096 } as const;
/** The password rules of signup, updates and the reset page: one definition. */
export const passwordSchema = password;
const email = { type: 'string', maxLength: 320 } as const;

/**
 * The account fields of a signup or update body; every other field is custom and stored as is.
 * `null` username or password means "none given": signup generates one, an update keeps it.
 */
export const userFieldsSchema = {
  type: 'object',
  properties: {
    username: { anyOf: [username, { type: 'null' }] },
    password: { anyOf: [password, { type: 'null' }] },
    email,
  },
  additionalProperties: true,
} as const;

/** `POST /user/:appKey/login`; newer SDKs may add fields such as `deviceToken`, which are ignored. */
export const loginBodySchema = {
  type: 'object',
  properties: { username, password },
  required: ['username', 'password'],
  additionalProperties: true,
} as const;

/** `POST /rpc/:appKey/check-username-exists`. */
export const checkUsernameBodySchema = {
  type: 'object',
  properties: { username },
  required: ['username'],
  additionalProperties: true,
} as const;

/** `POST /rpc/:appKey/user-forgot-username`. */
export const forgotUsernameBodySchema = {
  type: 'object',
  properties: { email: { type: 'string', minLength: 1, maxLength: 320 } },
  required: ['email'],
  additionalProperties: true,
} as const;

export type UserFields = FromSchema<typeof userFieldsSchema>;
export type LoginBody = FromSchema<typeof loginBodySchema>;
export type CheckUsernameBody = FromSchema<typeof checkUsernameBodySchema>;
export type ForgotUsernameBody = FromSchema<typeof forgotUsernameBodySchema>;
