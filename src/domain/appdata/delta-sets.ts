/**
 * Delta sets (`GET /appdata/:appKey/:collection/_deltaset?since=...`): what changed and what was
 * deleted in a collection since an earlier read, as the official SDKs' `useDeltaSet` asks.
 *
 * The errors are the ones the SDKs answer with a full read: 403 MissingConfiguration where the
 * collection has no delta set, 400 ParameterValueOutOfRange for a `since` that is missing,
 * malformed, in the future, older than the tombstone retention or from before tracking began, and
 * 400 ResultSetSizeExceeded past 10,000 changed or deleted entities (kinvey-js-sdk 7
 * datastore/cachestore.js falls back on the first two; kinvey-node-sdk 3.12.5, the Android and
 * .NET SDKs on all three).
 */
import type { StoredDocument } from '../ports';
import { aclScope } from '../access/acl-scope';
import type { DeletionLog } from './deletion-log';
import { MAX_RESULT_SET, type EntitiesService, type EntityContext } from './entities.service';
import { errors } from '../errors';
import type { ListQuery } from '../query/parse-query';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export interface DeltaSet {
  changed: StoredDocument[];
  /** Ids of deleted entities the reader could read when they were deleted. */
  deleted: string[];
}

export class DeltaSetService {
  constructor(
    private readonly entities: EntitiesService,
    private readonly deletions: DeletionLog,
  ) {}

  /**
   * Entities the reader may read whose `_kmd.lmt` is at or after `since` and that match the query
   * (with its sort and fields; skip and limit do not apply), and the ids deleted at or after
   * `since` whose tombstone the reader may read, minus ids that are back among the changed ones.
   * "At or after" is exact because `since` (an earlier request's start) and `_kmd.lmt` come from
   * one MonotonicClock: a write acknowledged before that request started is earlier, a later one
   * at or after it (monotonic-clock.ts). `now` is this request's start.
   */
  async changesSince(ctx: EntityContext, rawSince: unknown, query: ListQuery, now: Date): Promise<DeltaSet> {
    if (!this.deletions.isTracked(ctx.scope)) {
      throw errors.missingConfiguration('This collection has not been configured for Delta Set access.');
    }
    const since = parseSince(rawSince);
    if (since > now.toISOString()) throw errors.parameterValueOutOfRange("The 'since' timestamp is in the future.");
    const days = this.deletions.retentionDays;
    if (since < new Date(now.getTime() - days * 86_400_000).toISOString()) {
      throw errors.parameterValueOutOfRange(`The 'since' timestamp must be within the past ${days} days.`);
    }
    const trackedSince = await this.deletions.trackedSince(ctx.scope);
    if (trackedSince === null || since < trackedSince) {
      throw errors.parameterValueOutOfRange(
        "The 'since' timestamp is before delta set tracking began for this collection; read the whole collection.",
      );
    }

    const changedFilter = { '_kmd.lmt': { $gte: since } };
    const filter = Object.keys(query.filter).length === 0 ? changedFilter : { $and: [changedFilter, query.filter] };
    const changed = await this.entities.list(ctx, {
      filter,
      ...(query.sort ? { sort: query.sort } : {}),
      ...(query.fields ? { fields: query.fields } : {}),
    });
    const deleted = await this.deletions.deletedSince(
      ctx.scope,
      since,
      aclScope(ctx.principal, ctx.permissions),
      MAX_RESULT_SET,
    );
    // Past the cap (of tombstones: an id deleted several times has several) the ids would be incomplete.
    if (deleted.more) {
      throw errors.resultSetSizeExceeded(
        `More than ${MAX_RESULT_SET} entities were deleted since ${since}; read the whole collection.`,
      );
    }
    const present = new Set(changed.map((doc) => doc._id));
    return { changed, deleted: deleted.ids.filter((id) => !present.has(id)) };
  }
}

/** `since`: an ISO-8601 UTC timestamp (the X-Kinvey-Request-Start of an earlier read), normalised to milliseconds. */
function parseSince(raw: unknown): string {
  if (raw === undefined || raw === '') {
    throw errors.parameterValueOutOfRange(
      'The since parameter is required: send the X-Kinvey-Request-Start header of an earlier read.',
    );
  }
  const malformed = () =>
    errors.parameterValueOutOfRange('since must be one ISO-8601 UTC timestamp such as 2024-05-01T12:00:00.000Z.');
  if (typeof raw !== 'string' || !ISO_UTC.test(raw)) throw malformed();
  const date = new Date(raw);
  // Rejects dates that do not exist (2024-02-30) instead of letting them roll over.
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 19) !== raw.slice(0, 19)) throw malformed();
  return date.toISOString();
}
