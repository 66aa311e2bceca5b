/**
 * User groups (`/group/:appKey`), stored in the internal `_group` collection. A group lists users
 * as KinveyRefs (or all users with `users.all`); the ids of the groups that list a user are the
 * user's Principal `groups`, which is what gives `_acl.groups` its meaning. Only master and the
 * group's creator may read or change a group.
 */
import {
  groupBodySchema,
  groupListParamsSchema,
  type GroupBody,
  type GroupListParams,
} from '../../../schemas/group.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import { StoreError, type CollectionScope, type DocumentStore, type StoredDocument } from '../ports';
import { buildAcl, isPlainObject } from '../access/acl';
import { buildKmd, checkClientId, checkEntityBody, newEntityId } from '../appdata/entity-fields';
import { errors } from '../errors';
import type { Principal } from '../access/principal';

export const GROUP_COLLECTION = '_group';
/** Groups one list answers by default, and at most. */
export const GROUP_PAGE = { default: 100, max: 1000 } as const;

/** A page of the group list. */
export interface GroupPage {
  readonly limit: number;
  readonly skip: number;
}

export class GroupsService {
  private readonly indexed = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    private readonly clock: () => Date = () => new Date(),
    /** Told after every group write of an app (anyone's membership may have changed): the session cache forgets the app. */
    private readonly membershipChanged: (appKey: string) => void = () => {},
  ) {}

  /** Ids of the groups that list this user, or that include all users. One store round trip. */
  async membershipOf(appKey: string, userId: string): Promise<string[]> {
    const groups = await this.store.find(
      groupScope(appKey),
      { $or: [{ 'users.all': true }, { 'users.list._id': userId }] },
      { fields: ['_id'] },
    );
    return groups.map((g) => g._id);
  }

  /**
   * Creates a group; the caller becomes its creator. Throws 400 for a malformed body and 409
   * EntityAlreadyExists for a taken `_id`.
   */
  async create(appKey: string, principal: Principal, body: unknown): Promise<StoredDocument> {
    const input = checkGroupBody(body);
    // Group ids grant access wherever an `_acl.groups` list names them, including lists written
    // before the group existed or after it was deleted: a user choosing the id could squat on
    // them. Only master names a group; everyone else gets a fresh, unguessable id.
    if (input._id !== undefined && principal.kind !== 'master') {
      throw errors.badRequest(
        'Only master credentials may choose a group _id; leave it out and the server assigns one.',
      );
    }
    const id = input._id === undefined ? newEntityId(this.clock()) : checkClientId(input._id);
    const doc = this.buildGroup(id, input, principal);
    const scope = groupScope(appKey);
    await this.ensureIndexes(scope);
    try {
      await this.store.insert(scope, doc);
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'duplicate')
        throw errors.entityAlreadyExists(`A group with _id ${id.slice(0, 100)} already exists.`);
      throw err;
    } finally {
      this.membershipChanged(appKey);
    }
    return doc;
  }

  /**
   * The app's groups in `_id` order, one page of them: master only (a user's groups are not theirs
   * to enumerate, even the ones they created). Throws 401 InsufficientCredentials for anyone else.
   */
  async list(appKey: string, principal: Principal, page: GroupPage): Promise<StoredDocument[]> {
    if (principal.kind !== 'master')
      throw errors.insufficientCredentials('Only master credentials may list the groups of an app.');
    return this.store.find(groupScope(appKey), {}, { sort: [['_id', 1]], skip: page.skip, limit: page.limit });
  }

  /** One group. Throws 404 EntityNotFound, or 401 InsufficientCredentials unless master or creator. */
  async get(appKey: string, principal: Principal, id: string): Promise<StoredDocument> {
    return this.managedGroup(appKey, principal, id);
  }

  /** Replaces a group's members and fields, keeping its creator and `_kmd.ect`. Throws like get. */
  async replace(appKey: string, principal: Principal, id: string, body: unknown): Promise<StoredDocument> {
    const input = checkGroupBody(body);
    const existing = await this.managedGroup(appKey, principal, id);
    const doc = this.buildGroup(id, input, principal, existing);
    const replaced = await this.store.replace(groupScope(appKey), doc).finally(() => this.membershipChanged(appKey));
    if (!replaced) throw notFound(id);
    return doc;
  }

  /** Deletes a group. Throws like get. */
  async remove(appKey: string, principal: Principal, id: string): Promise<void> {
    await this.managedGroup(appKey, principal, id);
    const removed = await this.store.deleteById(groupScope(appKey), id).finally(() => this.membershipChanged(appKey));
    if (!removed) throw notFound(id);
  }

  private async managedGroup(appKey: string, principal: Principal, id: string): Promise<StoredDocument> {
    const [group] = await this.store.findByIds(groupScope(appKey), [id]);
    if (!group) throw notFound(id);
    const creator = isPlainObject(group._acl) ? group._acl.creator : undefined;
    // Membership grants nothing here: only master and the creator manage a group.
    if (principal.kind !== 'master' && !(principal.kind === 'user' && creator === principal.userId)) {
      throw errors.insufficientCredentials('Only the creator of a group or master credentials may access it.');
    }
    return group;
  }

  private buildGroup(id: string, input: GroupBody, principal: Principal, existing?: StoredDocument): StoredDocument {
    const { _id: _ignoredId, _kmd: _ignoredKmd, _acl: _ignoredAcl, users, groups, ...fields } = input;
    return {
      _id: id,
      ...fields,
      users: { all: users?.all ?? false, list: uniqueRefs(users?.list ?? [], 'user') },
      groups: uniqueRefs(groups ?? [], 'group'),
      _acl: buildAcl(undefined, principal, existing),
      _kmd: buildKmd(this.clock(), existing),
    };
  }

  private async ensureIndexes(scope: CollectionScope): Promise<void> {
    if (this.indexed.has(scope.appKey)) return;
    await Promise.all(['users.list._id', 'users.all'].map((field) => this.store.ensureIndex(scope, { field })));
    this.indexed.add(scope.appKey);
  }
}

function checkGroupBody(body: unknown): GroupBody {
  const checked = checkEntityBody(body);
  const validate = validatorFor<GroupBody>(groupBodySchema);
  if (!validate(checked)) throw errors.badRequest(describeErrors(validate.errors, 'group').join('; '));
  return checked;
}

/**
 * The `limit` (default GROUP_PAGE.default, at most GROUP_PAGE.max) and `skip` (default 0) of a
 * group list request. Throws 400 ParameterValueOutOfRange for anything but one decimal each.
 */
export function parseGroupPage(params: Record<string, unknown>): GroupPage {
  const validate = validatorFor<GroupListParams>(groupListParamsSchema);
  // A copy: only the two parameters are checked, and the request's own object is never changed.
  const given = { limit: params.limit, skip: params.skip };
  if (!validate(given)) {
    throw errors.parameterValueOutOfRange(
      `limit must be an integer from 1 to ${GROUP_PAGE.max} and skip a non-negative integer, each given once.`,
    );
  }
  return {
    limit: given.limit === undefined ? GROUP_PAGE.default : Number(given.limit),
    skip: given.skip === undefined ? 0 : Number(given.skip),
  };
}

/** Stores references in their canonical form, each id once. */
function uniqueRefs(refs: ReadonlyArray<{ _id: string }>, collection: 'user' | 'group') {
  return [...new Set(refs.map((r) => r._id))].map((_id) => ({ _type: 'KinveyRef', _collection: collection, _id }));
}

function groupScope(appKey: string): CollectionScope {
  return { appKey, collection: GROUP_COLLECTION };
}

function notFound(id: string) {
  return errors.entityNotFound(`No group with _id ${id.slice(0, 100)}.`);
}
