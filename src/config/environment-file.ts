/**
 * Reads kinvey-cli's environment file (`kinvey appenv export --file env.json`) into an app's
 * Business Logic, collection permissions (fixed levels and role tables), groups and roles. Every entry kinbase cannot honour is a
 * problem or a warning naming its JSON path: nothing in the file is silently ignored.
 */
import path from 'node:path';
import {
  environmentFileSchema,
  type EnvironmentCollection,
  type EnvironmentEndpoint,
  type EnvironmentFile,
  type EnvironmentHook,
} from '../../schemas/environment-file.schema';
import { describeErrors, describeSettingErrors, validatorFor } from '../../schemas/validator';
import type {
  AccountSettings,
  CollectionSettings,
  EnvironmentGroup,
  EnvironmentRole,
} from '../domain/apps/app-definition';
import { collectionPermissionsSchema, type CollectionPermissions } from '../../schemas/apps.schema';
import { isReservedKey } from '../domain/access/safe-keys';
import {
  COLLECTION_HOOKS,
  type BusinessLogicConfig,
  type CollectionHookName,
  type CustomEndpointSpec,
  type EndpointSchedule,
  type ExternalCollectionSpec,
  type FlexServiceSpec,
  type FunctionSpec,
} from '../domain/apps/business-logic-config';

export type { EnvironmentGroup } from '../domain/apps/app-definition';

export interface EnvironmentFileContext {
  readFile: (file: string) => string;
  /** The app's `flexServices`: external entries must name one of its keys. */
  flexServices: Record<string, FlexServiceSpec>;
  /** Where the file was named, to start every message: `KINBASE_APPS_FILE app kid_x environmentFile`. */
  source: string;
}

export interface LoadedEnvironment {
  businessLogic: BusinessLogicConfig;
  collections: Record<string, CollectionSettings>;
  groups: EnvironmentGroup[];
  /** `settings.emailVerification` and `settings.passwordReset`. */
  accounts: AccountSettings;
  roles: EnvironmentRole[];
}

export const SCHEDULE_INTERVAL_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  weekly: 604800,
  daily: 86400,
  hourly: 3600,
  '30-minutes': 1800,
  '10-minutes': 600,
  '5-minutes': 300,
  '1-minute': 60,
});

/** Kinvey's `onLoginSuccess` is what kinbase calls `onPostLogin`. */
const HOOK_ALIASES: Readonly<Record<string, CollectionHookName>> = Object.freeze({ onLoginSuccess: 'onPostLogin' });
const LOGIN_HOOKS: ReadonlySet<string> = new Set(['onPreLogin', 'onPostLogin', 'onLoginFailure']);
const STRING_PERMISSIONS: ReadonlySet<string> = new Set(['private', 'full', 'shared', 'read-only']);
/** kinvey-cli's own name rules for collections and endpoints. */
const COLLECTION_NAME = /^[A-Za-z0-9_-]{1,123}$/;
const ENDPOINT_NAME = /^[A-Za-z0-9_-]{2,}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Loads one environment file. `code`/`codeFile` entries are read (codeFile relative to the file's
 * directory, through `context.readFile`). Appends to `problems` every entry that is invalid or that
 * kinbase cannot honour, and to `warnings` every entry it accepts but ignores. Returns null when
 * this call added a problem; never throws for bad input.
 */
export function loadEnvironmentFile(
  file: string,
  context: EnvironmentFileContext,
  problems: string[],
  warnings: string[],
): LoadedEnvironment | null {
  const at = `${context.source} ${file}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(context.readFile(file));
  } catch (err) {
    problems.push(`${at} cannot be read as JSON: ${(err as Error).message}`);
    return null;
  }
  const validate = validatorFor<EnvironmentFile>(environmentFileSchema);
  if (!validate(parsed)) {
    problems.push(
      ...describeSettingErrors(validate.errors, environmentFileSchema).map(
        (line) => `${at}: ${line.replace(/^the value /, 'the file ')}`,
      ),
    );
    return null;
  }
  const before = problems.length;
  const reader = new EntryReader(at, path.dirname(file), context, problems);
  const env = parsed;

  const accounts = readAccountSettings(env, at, problems);
  const commonCode: Array<{ name: string; code: string }> = [];
  for (const [name, entry] of reader.entries(env.commonCode, 'commonCode')) {
    const code = reader.code(entry, `commonCode.${name}`);
    if (code !== null) commonCode.push({ name, code });
  }
  const collections = nullObject<CollectionSettings>();
  const externalCollections = nullObject<ExternalCollectionSpec>();
  for (const [name, entry] of reader.entries(env.collections, 'collections', COLLECTION_NAME)) {
    readCollection(reader, name, entry, collections, externalCollections);
  }
  const collectionHooks = nullObject<Partial<Record<CollectionHookName, FunctionSpec>>>();
  for (const [collection, hooks] of reader.entries(env.collectionHooks, 'collectionHooks', COLLECTION_NAME)) {
    const byHook = nullObject<FunctionSpec>() as Partial<Record<CollectionHookName, FunctionSpec>>;
    for (const [hookName, entry] of reader.entries(hooks, `collectionHooks.${collection}`)) {
      const hook = hookNameOf(reader, collection, hookName, byHook);
      const spec = reader.functionSpec(entry, `collectionHooks.${collection}.${hookName}`);
      if (hook && spec) byHook[hook] = spec;
    }
    collectionHooks[collection] = byHook;
  }
  const customEndpoints = nullObject<CustomEndpointSpec>();
  for (const [name, entry] of reader.entries(env.customEndpoints, 'customEndpoints', ENDPOINT_NAME)) {
    const spec = reader.functionSpec(entry, `customEndpoints.${name}`);
    const schedule = entry.schedule
      ? readSchedule(reader, entry.schedule, `customEndpoints.${name}.schedule`)
      : undefined;
    if (spec && schedule !== null) customEndpoints[name] = { function: spec, ...(schedule ? { schedule } : {}) };
  }
  const groups = readGroups(reader, env, warnings);
  const roles = readRoles(reader, env);
  warnUnknownRoles(reader, collections, roles, warnings);
  if (env.push)
    warnings.push(`${at}: push is not available in kinbase and is ignored (push routes answer MissingConfiguration)`);
  if (reader.serviceEnvironments.size > 0) {
    warnings.push(
      `${at}: serviceEnvironment is ignored: kinbase calls the one host each flexServices entry names (${[...reader.serviceEnvironments].join(', ')})`,
    );
  }
  if (problems.length > before) return null;

  const flexServices = nullObject<FlexServiceSpec>();
  for (const [name, service] of Object.entries(context.flexServices))
    flexServices[name] = { host: service.host.replace(/\/+$/, ''), secret: service.secret };
  return {
    businessLogic: { commonCode, collectionHooks, customEndpoints, externalCollections, flexServices },
    collections,
    groups,
    accounts,
    roles,
  };
}

/** Reads entries and code, and names each bad one by its JSON path. */
class EntryReader {
  /** `service (environment)` pairs the file names, for one warning. */
  readonly serviceEnvironments = new Set<string>();

  constructor(
    readonly at: string,
    private readonly dir: string,
    private readonly context: EnvironmentFileContext,
    private readonly problems: string[],
  ) {}

  get problemCount(): number {
    return this.problems.length;
  }

  problem(message: string): void {
    this.problems.push(`${this.at}: ${message}`);
  }

  /** The entries of a map, without reserved names (`__proto__`, ...) or names `pattern` refuses. */
  *entries<T>(map: Record<string, T> | undefined, where: string, pattern?: RegExp): Generator<[string, T]> {
    for (const [key, value] of Object.entries(map ?? {})) {
      if (isReservedKey(key)) this.problem(`${where}.${key} is a reserved name and cannot be used`);
      else if (pattern && !pattern.test(key))
        this.problem(`${where}.${key} is not a valid name (letters, digits, _ and -)`);
      else yield [key, value];
    }
  }

  /** The code of an internal entry: `code`, or the file `codeFile` names; null after a problem. */
  code(entry: { code?: string; codeFile?: string }, where: string): string | null {
    if (entry.code !== undefined && entry.codeFile !== undefined)
      return this.fail(`${where} sets both code and codeFile: set one of them`);
    if (entry.code !== undefined) return entry.code;
    if (entry.codeFile === undefined) return this.fail(`${where} must set code or codeFile`);
    try {
      return this.context.readFile(path.resolve(this.dir, entry.codeFile));
    } catch (err) {
      return this.fail(`${where}.codeFile ${entry.codeFile} cannot be read: ${(err as Error).message}`);
    }
  }

  functionSpec(entry: EnvironmentHook | EnvironmentEndpoint, where: string): FunctionSpec | null {
    if (entry.type === 'internal') {
      const stray = (['service', 'serviceEnvironment', 'handlerName'] as const).filter(
        (field) => entry[field] !== undefined,
      );
      if (stray.length > 0)
        return this.fail(
          `${where} is internal, so ${stray.join(', ')} cannot be set (only external functions call a Flex service)`,
        );
      const code = this.code(entry, where);
      return code === null ? null : { type: 'internal', code, origin: where };
    }
    if (entry.code !== undefined || entry.codeFile !== undefined)
      return this.fail(`${where} is external, so code and codeFile cannot be set (its code runs in the Flex service)`);
    if (entry.handlerName === undefined) return this.fail(`${where}.handlerName must be set when type is external`);
    const service = this.service(entry, where);
    return service === null ? null : { type: 'external', service, handlerName: entry.handlerName, origin: where };
  }

  /** The entry's `service`, if it names a key of the app's flexServices; null after a problem. */
  service(entry: { service?: string; serviceEnvironment?: string }, where: string): string | null {
    if (entry.service === undefined) return this.fail(`${where}.service must be set when type is external`);
    if (!Object.hasOwn(this.context.flexServices, entry.service)) {
      const known = Object.keys(this.context.flexServices);
      return this.fail(
        `${where}.service "${entry.service}" is not one of the app's flexServices (${known.length > 0 ? `known: ${known.join(', ')}` : 'the app defines none'})`,
      );
    }
    if (entry.serviceEnvironment !== undefined)
      this.serviceEnvironments.add(`${entry.service} (${entry.serviceEnvironment})`);
    return entry.service;
  }

  fail(message: string): null {
    this.problem(message);
    return null;
  }
}

/**
 * The account settings: e-mail verification (`auto`, `required`) and the app's own password-reset
 * page. Both work with and without mail configured: without it, no link is ever sent (the start
 * log says mail is off), so `required` then locks out every user who has not confirmed before.
 */
function readAccountSettings(env: EnvironmentFile, at: string, problems: string[]): AccountSettings {
  const verification = env.settings?.emailVerification;
  const page = env.settings?.passwordReset ?? null;
  if (page !== null && !/^https?:\/\/[^/?#\s]+(\/[^#\s]*)?$/.test(page)) {
    problems.push(
      `${at}: settings.passwordReset is ${JSON.stringify(page.slice(0, 200))}; it must be the http:// or https:// URL of the app's reset page (or null for kinbase's own)`,
    );
  }
  return {
    emailVerification: { required: verification?.required === true, auto: verification?.auto === true },
    passwordResetPage: page,
  };
}

function readCollection(
  reader: EntryReader,
  name: string,
  entry: EnvironmentCollection,
  collections: Record<string, CollectionSettings>,
  external: Record<string, ExternalCollectionSpec>,
): void {
  const where = `collections.${name}`;
  const before = reader.problemCount;
  const permissions = entry.permissions;
  if (typeof permissions !== 'string') {
    const validate = validatorFor<CollectionPermissions>(collectionPermissionsSchema);
    if (!validate(permissions))
      reader.problem(
        `${where}.permissions is a role table kinbase cannot read: ${describeErrors(validate.errors, `${where}.permissions`).slice(0, 3).join('; ')} (each role maps create, read, update and delete to always, entity, grant or never)`,
      );
  } else if (!STRING_PERMISSIONS.has(permissions)) {
    reader.problem(
      `${where}.permissions is ${JSON.stringify(permissions)}; allowed values are private, full, shared, read-only`,
    );
  }
  if (entry.type === 'external') {
    const service = reader.service(entry, where);
    if (entry.serviceObject === undefined) reader.problem(`${where}.serviceObject must be set when type is external`);
    else if (service !== null) external[name] = { service, serviceObject: entry.serviceObject };
  } else {
    const stray = (['service', 'serviceEnvironment', 'serviceObject'] as const).filter(
      (field) => entry[field] !== undefined,
    );
    if (stray.length > 0)
      reader.problem(
        `${where} is internal, so ${stray.join(', ')} cannot be set (only external collections use a Flex service)`,
      );
  }
  if (reader.problemCount === before)
    collections[name] = { permissions: permissions as CollectionSettings['permissions'] };
}

/** kinbase's name of a hook, or null after a problem (unknown name, login hook off `user`, twice). */
function hookNameOf(
  reader: EntryReader,
  collection: string,
  name: string,
  seen: Partial<Record<CollectionHookName, FunctionSpec>>,
): CollectionHookName | null {
  const where = `collectionHooks.${collection}.${name}`;
  const hook = Object.hasOwn(HOOK_ALIASES, name)
    ? HOOK_ALIASES[name]
    : (COLLECTION_HOOKS as readonly string[]).includes(name)
      ? (name as CollectionHookName)
      : undefined;
  if (hook === undefined)
    return reader.fail(
      `${where} is not a hook kinbase runs; hooks are ${COLLECTION_HOOKS.join(', ')} and onLoginSuccess (= onPostLogin)`,
    );
  if (LOGIN_HOOKS.has(hook) && collection !== 'user')
    return reader.fail(`${where}: login hooks run only on the user collection`);
  if (Object.hasOwn(seen, hook))
    return reader.fail(`${where} is ${hook} a second time (onLoginSuccess and onPostLogin are the same hook)`);
  return hook;
}

function readSchedule(
  reader: EntryReader,
  schedule: NonNullable<EnvironmentEndpoint['schedule']>,
  where: string,
): EndpointSchedule | null {
  // A time without an offset is read as UTC, so the schedule does not depend on the host's time zone.
  const text =
    ISO_DATE_TIME.test(schedule.start) && /T[^Z+-]*$/.test(schedule.start) ? `${schedule.start}Z` : schedule.start;
  const start = new Date(text);
  if (!ISO_DATE_TIME.test(schedule.start) || Number.isNaN(start.getTime())) {
    return reader.fail(
      `${where}.start is ${JSON.stringify(schedule.start)}, which is not an ISO-8601 date and time (2019-07-22T16:35:00Z)`,
    );
  }
  return {
    start,
    intervalSeconds: schedule.interval === undefined ? null : (SCHEDULE_INTERVAL_SECONDS[schedule.interval] ?? null),
  };
}

function readGroups(reader: EntryReader, env: EnvironmentFile, warnings: string[]): EnvironmentGroup[] {
  const groups: EnvironmentGroup[] = [];
  const defined = new Set(Object.keys(env.groups ?? {}));
  for (const [id, group] of reader.entries(env.groups, 'groups')) {
    const nested = group.groups ?? [];
    const unknown = nested.filter((child) => !defined.has(child));
    if (unknown.length > 0)
      warnings.push(
        `${reader.at}: groups.${id}.groups names ${unknown.join(', ')}, which the file does not define (they must exist already)`,
      );
    if (nested.some(isReservedKey)) reader.problem(`groups.${id}.groups names a reserved name`);
    groups.push({
      _id: id,
      ...(group.name !== undefined ? { name: group.name } : {}),
      ...(group.description !== undefined ? { description: group.description } : {}),
      groups: [...nested],
    });
  }
  return groups;
}

/**
 * The roles the file defines, by name (the entry's `name`, else its key: kinvey-cli keys roles by
 * name). Collection role tables name roles the same way.
 */
function readRoles(reader: EntryReader, env: EnvironmentFile): EnvironmentRole[] {
  const roles: EnvironmentRole[] = [];
  for (const [key, role] of reader.entries(env.roles, 'roles')) {
    const name = role.name ?? key;
    if (name === 'all-users' || isReservedKey(name)) {
      reader.problem(`roles.${key} is named ${JSON.stringify(name)}, a name no role may have`);
      continue;
    }
    roles.push({ name, ...(typeof role.description === 'string' ? { description: role.description } : {}) });
  }
  return roles;
}

/** A role table naming a role the file does not define works only once that role exists (made through /roles). */
function warnUnknownRoles(
  reader: EntryReader,
  collections: Record<string, CollectionSettings>,
  roles: EnvironmentRole[],
  warnings: string[],
): void {
  const defined = new Set(['all-users', ...roles.map((role) => role.name)]);
  for (const [name, settings] of Object.entries(collections)) {
    if (typeof settings.permissions !== 'object') continue;
    const unknown = Object.keys(settings.permissions).filter((role) => !defined.has(role));
    if (unknown.length > 0)
      warnings.push(
        `${reader.at}: collections.${name}.permissions names ${unknown.join(', ')}, which the file does not define as roles (they grant nothing until a role with that name or id exists)`,
      );
  }
}

function nullObject<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
