import type { FromSchema } from 'json-schema-to-ts';

/** A TOTP code as authenticator apps show it; anything longer is never a code. */
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** `POST /user/:appKey/:id/authenticators` (kinvey-js-sdk 7 createMFAAuthenticator.js sends `{name, type: "totp"}`). */
export const createAuthenticatorBodySchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    type: { type: 'string', enum: ['totp'] },
  },
  additionalProperties: true,
} as const;

/** `POST /user/:appKey/:id/authenticators/:aid/verify` (createMFAAuthenticator.js: `{code}`). */
export const verifyAuthenticatorBodySchema = {
  type: 'object',
  properties: { code },
  required: ['code'],
  additionalProperties: true,
} as const;

/** `POST /user/:appKey/mfa/challenge` (loginWithMFA.js: `{authenticatorId}`). */
export const mfaChallengeBodySchema = {
  type: 'object',
  properties: { authenticatorId: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['authenticatorId'],
  additionalProperties: true,
} as const;

/** `POST /user/:appKey/mfa/complete` (loginWithMFA.js: `{code, createDeviceToken}`). */
export const mfaCompleteBodySchema = {
  type: 'object',
  properties: { code, createDeviceToken: { type: 'boolean' } },
  required: ['code'],
  additionalProperties: true,
} as const;

export type CreateAuthenticatorBody = FromSchema<typeof createAuthenticatorBodySchema>;
export type VerifyAuthenticatorBody = FromSchema<typeof verifyAuthenticatorBodySchema>;
export type MfaChallengeBody = FromSchema<typeof mfaChallengeBodySchema>;
export type MfaCompleteBody = FromSchema<typeof mfaCompleteBodySchema>;
