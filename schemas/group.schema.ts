import type { FromSchema } from 'json-schema-to-ts';

const refId = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** `{_type:"KinveyRef", _collection:"user", _id}`: one member of a group. */
export const userRefSchema = {
  type: 'object',
  properties: { _type: { const: 'KinveyRef' }, _collection: { const: 'user' }, _id: refId },
  required: ['_type', '_collection', '_id'],
  additionalProperties: true,
} as const;

/** `{_type:"KinveyRef", _collection:"group", _id}`: a group nested in a group. */
export const groupRefSchema = {
  type: 'object',
  properties: { _type: { const: 'KinveyRef' }, _collection: { const: 'group' }, _id: refId },
  required: ['_type', '_collection', '_id'],
  additionalProperties: true,
} as const;

/** Body of `POST /group/:appKey` and `PUT /group/:appKey/:id`; other fields (e.g. a name) are kept. */
export const groupBodySchema = {
  type: 'object',
  properties: {
    _id: refId,
    users: {
      type: 'object',
      properties: {
        all: { type: 'boolean' },
        list: { type: 'array', items: userRefSchema, maxItems: 10000 },
      },
      additionalProperties: false,
    },
    groups: { type: 'array', items: groupRefSchema, maxItems: 1000 },
  },
  additionalProperties: true,
} as const;

export type GroupBody = FromSchema<typeof groupBodySchema>;

/**
 * Query parameters of `GET /group/:appKey` (the list): decimal strings, `limit` 1 to 1000, `skip`
 * from 0. Given once each (a repeated parameter arrives as an array and is refused).
 */
export const groupListParamsSchema = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
    skip: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
  additionalProperties: true,
} as const;

export type GroupListParams = FromSchema<typeof groupListParamsSchema>;
