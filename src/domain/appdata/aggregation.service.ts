/**
 * `_group`: Kinvey's aggregations (MongoDB's legacy `group` command) over app collections and
 * users. The request names the group keys, an `initial` accumulator, a `reduce` function and a
 * `condition`; kinbase recognises the reducers the SDKs generate (group-reducers.ts), lets the store
 * compute the statistics in one pass (DocumentStore.group), restricted to what the reader may read
 * (ACL clause first; users: active ones only, never hidden fields), and builds each group the way
 * the reducer would have: key fields, then `initial`'s fields, updated by the reducer.
 */
import { aggregationBodySchema, type AggregationBody } from '../../../schemas/aggregation.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { DocumentStore, Filter, GroupSpec, GroupStats } from '../ports';
import { restrict } from '../access/acl';
import { aclScope } from '../access/acl-scope';
import type { EntityContext } from './entities.service';
import { MAX_RESULT_SET } from './entities.service';
import { errors } from '../errors';
import type { Principal } from '../access/principal';
import { refuseHiddenFields, sanitizeFilter } from '../query/parse-query';
import { checkFieldPath, recogniseReducer, type Reducer } from './group-reducers';
import { isReservedKey, isWellFormed } from '../access/safe-keys';
import { ACTIVE_USERS, hiddenUserFields, userScope } from '../users/user-records';

/** Kinvey's cap on the groups of one `_group` (the legacy group command's own limit was 20,000 keys). */
export const MAX_GROUPS = MAX_RESULT_SET;
/**
 * Largest `initial`, in characters of JSON. Every group of the answer repeats it, so its size is
 * multiplied by the number of groups (a 4.9 MB one over 1,000 groups took 4.2 GB and aborted the
 * process). The SDKs send a few numbers (`{"count":0}`, `{"sum":0.0,"count":0}`, under 40
 * characters). At 1 KiB, 10,000 groups of tiny entities answer about 11 MB, as a list of 10,000
 * entities of 1 KB would; 16 KiB let a 16 KB request make a 32 MB answer out of 2,000 of them.
 */
export const MAX_INITIAL_BYTES = 1024;
/** Largest JSON of one group's key values (each group carries them in the answer). */
export const MAX_GROUP_KEY_BYTES = 16 * 1024;
/** What a row holds besides its key values and `initial`: the reducer's numbers and JSON punctuation. */
const ROW_OVERHEAD_BYTES = 64;

export interface GroupRequest {
  keys: string[];
  initial: Record<string, unknown>;
  /** Characters of JSON of `initial`, which every group repeats. */
  initialBytes: number;
  reducer: Reducer;
  condition: Filter;
}

export type GroupRow = Record<string, unknown>;

/**
 * Parses a `_group` body. Throws 400 BadRequest for a malformed body or key or an `initial` over
 * MAX_INITIAL_BYTES, 400 InvalidQuerySyntax for a condition the query sanitiser refuses, and 400
 * FeatureUnavailable for a reduce function that is not one the SDKs generate.
 */
export function parseGroupRequest(body: unknown): GroupRequest {
  const validate = validatorFor<AggregationBody>(aggregationBodySchema);
  if (!validate(body)) throw errors.badRequest(describeErrors(validate.errors, 'body').join('; '));
  const keys = Object.keys(body.key ?? {}).map((key) => checkFieldPath(key, 'key'));
  // Measured before anything is built from it; serialized only once known to be small.
  const initialBytes = jsonLongerThan(body.initial ?? {}, MAX_INITIAL_BYTES)
    ? Infinity
    : JSON.stringify(body.initial ?? {}).length;
  if (initialBytes > MAX_INITIAL_BYTES) {
    throw errors.badRequest(
      `initial holds more than ${MAX_INITIAL_BYTES} characters of JSON, the most allowed (every group of the answer repeats it; the SDKs send a few numbers).`,
    );
  }
  const initial: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, value] of Object.entries(body.initial ?? {})) {
    if (isReservedKey(name) || name.startsWith('$') || !isWellFormed(name))
      throw errors.badRequest(`initial may not hold the key "${name.slice(0, 100)}".`);
    initial[name] = value;
  }
  const reducer = recogniseReducer(body.reduce ?? body.reduceFn);
  const condition = body.condition === undefined || body.condition === null ? {} : sanitizeFilter(body.condition);
  return { keys, initial, initialBytes, reducer, condition };
}

export class AggregationService {
  constructor(private readonly store: DocumentStore) {}

  /**
   * Groups the readable entities of a collection. Throws 400 ResultSetSizeExceeded beyond
   * MAX_GROUPS, or when the answer would pass the store's result budget (the 32 MiB lists have) or
   * a group's key values MAX_GROUP_KEY_BYTES.
   */
  async groupEntities(ctx: EntityContext, body: unknown): Promise<GroupRow[]> {
    const request = parseGroupRequest(body);
    const filter = aclScope(ctx.principal, ctx.permissions).readable(request.condition);
    return this.run(ctx.scope, filter, request);
  }

  /** Groups active users; keys, field and condition may not touch fields hidden from the reader. */
  async groupUsers(principal: Principal, body: unknown): Promise<GroupRow[]> {
    const request = parseGroupRequest(body);
    const field = 'field' in request.reducer ? [request.reducer.field] : [];
    refuseHiddenFields({ filter: request.condition, fields: [...request.keys, ...field] }, hiddenUserFields(principal));
    return this.run(userScope(principal.appKey), restrict(request.condition, ACTIVE_USERS), request);
  }

  private async run(
    scope: Parameters<DocumentStore['group']>[0],
    filter: Filter,
    request: GroupRequest,
  ): Promise<GroupRow[]> {
    const { reducer } = request;
    const spec: GroupSpec = {
      keys: request.keys,
      statistics: reducer.kind === 'count' ? 'count' : reducer.kind === 'sum' ? 'sum' : 'numeric',
      maxGroups: MAX_GROUPS,
      // The store charges each group's key values itself; the rest of its row is known here.
      bytesPerGroup: request.initialBytes + request.keys.reduce((n, key) => n + key.length + 4, 0) + ROW_OVERHEAD_BYTES,
      maxKeyBytes: MAX_GROUP_KEY_BYTES,
      ...('field' in reducer ? { field: reducer.field } : {}),
    };
    const groups = await this.store.group(scope, filter, spec);
    if (groups.length > MAX_GROUPS) {
      throw errors.resultSetSizeExceeded(
        `Your aggregation produced more than ${MAX_GROUPS} groups; group by fewer fields or add a condition.`,
      );
    }
    return groups.map((group) => toRow(request, group));
  }
}

/**
 * Whether a parsed JSON value surely serializes to more than `max` characters, told without
 * serializing it: a lower bound on its length that stops as soon as it passes `max` (serializing a
 * 4.9 MB `initial` took 30 ms of the event loop, for a request that is refused anyway).
 */
export function jsonLongerThan(value: unknown, max: number): boolean {
  let length = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      length += item.length + 2;
    } else if (Array.isArray(item)) {
      length += 1 + item.length;
      for (const element of item) pending.push(element);
    } else if (typeof item === 'object' && item !== null) {
      length += 1;
      for (const [name, field] of Object.entries(item)) {
        length += name.length + 4;
        pending.push(field);
      }
    } else {
      length += 1;
    }
    if (length > max) return true;
  }
  return false;
}

/** One group as the reducer would have left it: key fields, then `initial`, updated. */
export function toRow(request: GroupRequest, group: GroupStats): GroupRow {
  const row: GroupRow = Object.create(null) as GroupRow;
  request.keys.forEach((key, i) => {
    row[key] = group.key[i] ?? null;
  });
  Object.assign(row, structuredClone(request.initial));
  const { reducer } = request;
  const start = (name: string, otherwise: number) => numberFrom(request.initial[name], otherwise);
  switch (reducer.kind) {
    case 'count':
      row[reducer.result] = start(reducer.result, 0) + group.count;
      break;
    case 'sum':
      row[reducer.result] = start(reducer.result, 0) + group.sum;
      break;
    case 'min':
      // The SDKs start from Infinity (sent as null or "Infinity") or a large number.
      if (group.min !== null) row[reducer.result] = Math.min(start(reducer.result, Infinity), group.min);
      break;
    case 'max':
      if (group.max !== null) row[reducer.result] = Math.max(start(reducer.result, -Infinity), group.max);
      break;
    case 'mean': {
      const before = start(reducer.counter, 0);
      const counted = before + group.numeric;
      if (group.numeric > 0) row[reducer.result] = (start(reducer.result, 0) * before + group.sum) / counted;
      row[reducer.counter] = counted;
      break;
    }
    case 'mean-of-total': {
      const counted = start(reducer.counter, 0) + group.numeric;
      const total = start(reducer.total, 0) + group.sum;
      row[reducer.counter] = counted;
      row[reducer.total] = total;
      if (counted > 0) row[reducer.result] = total / counted;
      break;
    }
  }
  return row;
}

/** How JavaScript's arithmetic would read an initial value the SDKs send; `otherwise` for the rest. */
function numberFrom(value: unknown, otherwise: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return otherwise;
}
