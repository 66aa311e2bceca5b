import type { FromSchema } from 'json-schema-to-ts';

/**
 * Body of `POST /appdata/:appKey/:collection/_group` and `POST /user/:appKey/_group`, as the SDKs
 * send it. JS 7+ also sends `reduceFn` (a copy of `reduce`) and `query` (ignored: `condition` is
 * the filter). Field names in `key` and `initial` are checked further by the domain.
 */
export const aggregationBodySchema = {
  type: 'object',
  properties: {
    key: {
      type: 'object',
      maxProperties: 16,
      additionalProperties: { enum: [true, 1] },
    },
    initial: { type: 'object', maxProperties: 32 },
    reduce: { type: 'string', maxLength: 2000 },
    reduceFn: { type: 'string', maxLength: 2000 },
    condition: { type: ['object', 'null'] },
    query: {},
  },
  anyOf: [{ required: ['reduce'] }, { required: ['reduceFn'] }],
  additionalProperties: true,
} as const;

export type AggregationBody = FromSchema<typeof aggregationBodySchema>;
