import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The one Ajv instance of the process. Schemas are compiled once, on first use, and cached by
 * schema object identity.
 */
const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  verbose: true,
});
addFormats(ajv);
// verbose: errors carry the value given and the failing schema, which describeSettingErrors names.
const coercingAjv = new Ajv({
  allErrors: true,
  useDefaults: true,
  coerceTypes: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  verbose: true,
});
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

/**
 * Renders ajv errors of a configuration (environment variables, the apps file) in plain words:
 * each line names the setting, the value given (never a secret's value, only its length) and
 * what is allowed. `rootSchema` explains `if`/`then` requirements ("GCS_BUCKET must be set when
 * KINBASE_STORAGE is gcs"); its properties' `description` says what a pattern expects.
 */
export function describeSettingErrors(
  validationErrors: ErrorObject[] | null | undefined,
  rootSchema: object,
  root = '',
): string[] {
  const lines: string[] = [];
  for (const e of validationErrors ?? []) {
    if (e.keyword === 'if') continue; // the `then` errors that come with it say what is missing
    const path = e.instancePath.slice(1).replace(/\//g, '.');
    const name = [root, path].filter(Boolean).join('.') || 'the value';
    const params = e.params as Record<string, unknown>;
    const given = shown(name, e.data);
    const hint = (e.parentSchema as { description?: string } | undefined)?.description;
    switch (e.keyword) {
      case 'enum':
        lines.push(
          `${name} is ${given}; allowed values are ${(params.allowedValues as unknown[]).map(String).join(', ')}`,
        );
        break;
      case 'pattern':
      case 'format':
        lines.push(
          `${name} is ${given}, which is not ${hint ?? `in the expected form (${String(params.pattern ?? params.format)})`}`,
        );
        break;
      case 'type':
        lines.push(
          `${name} is ${given}; it must be ${params.type === 'integer' ? 'a whole number' : `a ${String(params.type)}`}`,
        );
        break;
      case 'minimum':
      case 'maximum':
        lines.push(
          `${name} is ${given}; it must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}`,
        );
        break;
      case 'minLength':
        lines.push(
          Number(params.limit) <= 1
            ? `${name} must not be empty`
            : `${name} is ${given}; it must be at least ${String(params.limit)} characters long`,
        );
        break;
      case 'minItems':
        lines.push(
          `${name} must list at least ${String(params.limit)} entr${Number(params.limit) === 1 ? 'y' : 'ies'}`,
        );
        break;
      case 'required': {
        const missing = [root, path, String(params.missingProperty)].filter(Boolean).join('.');
        const condition = e.schemaPath.startsWith('#/then') ? conditionOf(rootSchema) : '';
        lines.push(`${missing} must be set${condition ? ` when ${condition}` : ''}`);
        break;
      }
      case 'dependencies':
        lines.push(
          `${[root, path, String(params.property)].filter(Boolean).join('.')} is set, so ${String(params.missingProperty)} must be set too`,
        );
        break;
      case 'additionalProperties':
        lines.push(`${name} has an unknown setting "${String(params.additionalProperty)}"`);
        break;
      default:
        lines.push(`${name} ${e.message ?? 'is invalid'}`);
    }
  }
  return lines;
}

/** A value as shown in a message: quoted, shortened, and never a secret's own characters. */
function shown(name: string, value: unknown): string {
  // An SMTP URL carries its password in the clear.
  if (typeof value === 'string' && /secret|password|token|smtp_url/i.test(name))
    return `a ${value.length}-character value`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return JSON.stringify(value) ?? String(value);
}

/** "KINBASE_STORAGE is gcs" from a schema's `if: {properties: {KINBASE_STORAGE: {const: 'gcs'}}}`. */
function conditionOf(schema: object): string {
  const properties = (schema as { if?: { properties?: Record<string, { const?: unknown }> } }).if?.properties ?? {};
  return Object.entries(properties)
    .filter(([, p]) => p.const !== undefined)
    .map(([k, p]) => `${k} is ${String(p.const)}`)
    .join(' and ');
}
