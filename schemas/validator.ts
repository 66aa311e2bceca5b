import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The one Ajv instance of the process. Schemas are compiled once, on first use, and cached by
 * schema object identity.
 */
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
const coercingAjv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(coercingAjv);

const cache = new WeakMap<object, ValidateFunction>();
const coercingCache = new WeakMap<object, ValidateFunction>();

/** Returns the compiled validator for a schema; `coerce` turns strings into the declared types. */
export function validatorFor<T>(schema: object, options: { coerce?: boolean } = {}): ValidateFunction<T> {
  const store = options.coerce ? coercingCache : cache;
  let validate = store.get(schema);
  if (!validate) {
    validate = (options.coerce ? coercingAjv : ajv).compile(schema);
    store.set(schema, validate);
  }
  return validate as ValidateFunction<T>;
}

/** Renders ajv errors as short English lines, naming the offending property. */
export function describeErrors(validationErrors: ErrorObject[] | null | undefined, root = ''): string[] {
  return (validationErrors ?? []).map((e) => {
    const missing = (e.params as { missingProperty?: string }).missingProperty;
    const name = [root, e.instancePath.slice(1).replace(/\//g, '.'), missing].filter(Boolean).join('.');
    return `${name || 'value'} ${e.message ?? 'is invalid'}`;
  });
}
