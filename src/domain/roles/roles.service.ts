/**
 * Kinvey roles (`/roles/:appKey`, `/user/:appKey/:userId/roles`), stored in two internal
 * collections: `_role` (`_id`, `name`, `description`) and `_roleMember` (one document per user and
 * role: `roleId`, `userId`, `grantedBy`, `grantDate`). The roles a user holds are the user's
 * Principal `roles`, which give `_acl.roles` and role-based collection permissions their meaning
 * (access/acl-scope.ts). Every operation here is master-only (the routes check it): a user can
 * never grant themselves a role. Every membership change tells the session cache, so it takes
 * effect on this instance at once and on others within the cache's TTL.
 */
import { roleBodySchema, type RoleBody } from '../../../schemas/role.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import { StoreError, type CollectionScope, type DocumentStore, type StoredDocument } from '../ports';
import { buildKmd, checkEntityBody, isoTimestamp, newEntityId } from '../appdata/entity-fields';
import type { RoleRef } from '../access/principal';
import { errors, isKinveyError } from '../errors';
import type { AppDefinition } from '../apps/app-definition';

export const ROLE_COLLECTION = '_role';
export const ROLE_MEMBER_COLLECTION = '_roleMember';
/** Most roles an app may have, and most roles or members one list answers. */
export const MAX_ROLES = 1000;
export const MAX_LISTED_MEMBERS = 10_000;

/** A role as the API shows it. */
export interface RoleView {
  readonly _id: string;
  readonly name: string;
  readonly description?: string;
  readonly _kmd: { lmt: string; ect: string };
}

/** One membership, as `GET /user/:appKey/:userId/roles` and `GET /roles/:appKey/:roleId/membership` show it. */
export interface MembershipView {
  readonly roleId: string;
  readonly userId: string;
  readonly grantedBy: string;
  readonly grantDate: string;
}

export class RolesService {
  private readonly indexed = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    private readonly clock: () => Date = () => new Date(),
    /** Told after every change that can alter what a user holds: the session cache forgets the app. */
    private readonly membershipChanged: (appKey: string) => void = () => {},
  ) {}

  /** The roles a user holds, by id and name. Two store round trips (memberships, then their roles). */
  async heldBy(appKey: string, userId: string): Promise<RoleRef[]> {
    const members = await this.store.find(memberScope(appKey), { userId }, { fields: ['roleId'], limit: MAX_ROLES });
    const ids = members.map((m) => m.roleId).filter((id): id is string => typeof id === 'string');
    if (ids.length === 0) return [];
    const roles = await this.store.findByIds(roleScope(appKey), ids);
    return roles.map((role) => ({ id: role._id, name: String(role.name) }));
  }

  /** Creates a role with a generated `_id`. Throws 400 for a bad body, 409 for a taken name or too many roles. */
  async create(appKey: string, body: unknown): Promise<RoleView> {
    const input = checkRoleBody(body);
    await this.ensureIndexes(appKey);
    if ((await this.store.count(roleScope(appKey), {})) >= MAX_ROLES)
      throw errors.badRequest(`An app may have at most ${MAX_ROLES} roles.`);
    const doc = roleDocument(newEntityId(this.clock()), input, this.clock());
    await this.write(() => this.store.insert(roleScope(appKey), doc), input.name);
    return view(doc);
  }

  /**
   * Creates the roles an app's environment file lists, by name, once: a role whose name exists
   * already (made by an earlier start, or through /roles) is left as it is. Returns the names created.
   */
  async createEnvironmentRoles(app: AppDefinition): Promise<string[]> {
    const created: string[] = [];
    for (const role of app.roles ?? []) {
      const [existing] = await this.store.find(roleScope(app.appKey), { name: role.name }, { limit: 1 });
      if (existing) continue;
      try {
        await this.create(app.appKey, role);
        created.push(role.name);
      } catch (err) {
        // Created concurrently by another instance starting: what we wanted.
        if (!(isKinveyError(err) && err.error === 'EntityAlreadyExists')) throw err;
      }
    }
    return created;
  }

  /** The app's roles in `_id` order (at most MAX_ROLES). */
  async list(appKey: string): Promise<RoleView[]> {
    const roles = await this.store.find(roleScope(appKey), {}, { sort: [['_id', 1]], limit: MAX_ROLES });
    return roles.map(view);
  }

  /** One role. Throws 404 EntityNotFound. */
  async get(appKey: string, roleId: string): Promise<RoleView> {
    return view(await this.existing(appKey, roleId));
  }

  /** Renames or redescribes a role (its `_id` and memberships stay). Throws like create and get. */
  async update(appKey: string, roleId: string, body: unknown): Promise<RoleView> {
    const input = checkRoleBody(body);
    const existing = await this.existing(appKey, roleId);
    const doc = roleDocument(roleId, input, this.clock(), existing);
    const replaced = await this.write(() => this.store.replace(roleScope(appKey), doc), input.name).finally(() =>
      this.membershipChanged(appKey),
    );
    if (!replaced) throw roleNotFound(roleId);
    return view(doc);
  }

  /** Deletes a role and every membership of it. Throws 404 EntityNotFound. */
  async remove(appKey: string, roleId: string): Promise<void> {
    await this.existing(appKey, roleId);
    try {
      // Memberships first: a role id in an `_acl.roles` list grants nothing once nobody holds it.
      await this.store.deleteMany(memberScope(appKey), { roleId });
      if (!(await this.store.deleteById(roleScope(appKey), roleId))) throw roleNotFound(roleId);
    } finally {
      this.membershipChanged(appKey);
    }
  }

  /** The members of a role, in grant order. Throws 404 EntityNotFound for an unknown role. */
  async membersOf(appKey: string, roleId: string): Promise<MembershipView[]> {
    await this.existing(appKey, roleId);
    const members = await this.store.find(
      memberScope(appKey),
      { roleId },
      { sort: [['grantDate', 1]], limit: MAX_LISTED_MEMBERS },
    );
    return members.map(membershipView);
  }

  /** The roles a user holds, as memberships. Throws 404 UserNotFound. */
  async rolesOf(appKey: string, userId: string): Promise<MembershipView[]> {
    await this.existingUser(appKey, userId);
    const members = await this.store.find(
      memberScope(appKey),
      { userId },
      { sort: [['grantDate', 1]], limit: MAX_ROLES },
    );
    return members.map(membershipView);
  }

  /**
   * Grants a role to a user; granting a held role again changes nothing. `grantedBy` is who asked
   * (the app key for master). Throws 404 UserNotFound or EntityNotFound (the role).
   */
  async grant(appKey: string, userId: string, roleId: string, grantedBy: string): Promise<void> {
    await Promise.all([this.existingUser(appKey, userId), this.existing(appKey, roleId)]);
    await this.ensureIndexes(appKey);
    const doc: StoredDocument = {
      _id: membershipId(roleId, userId),
      roleId,
      userId,
      grantedBy,
      grantDate: isoTimestamp(this.clock()),
    };
    try {
      await this.store.insert(memberScope(appKey), doc);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === 'duplicate')) throw err;
    } finally {
      this.membershipChanged(appKey);
    }
  }

  /** Revokes a role from a user. Throws 404 UserNotFound, or EntityNotFound when the role is unknown or not held. */
  async revoke(appKey: string, userId: string, roleId: string): Promise<void> {
    await Promise.all([this.existingUser(appKey, userId), this.existing(appKey, roleId)]);
    const removed = await this.store
      .deleteById(memberScope(appKey), membershipId(roleId, userId))
      .finally(() => this.membershipChanged(appKey));
    if (!removed) throw errors.entityNotFound(`The user does not hold the role ${roleId.slice(0, 100)}.`);
  }

  /** Forgets every membership of a deleted user, so a later user with the same id holds nothing. */
  async forgetUser(appKey: string, userId: string): Promise<void> {
    await this.store.deleteMany(memberScope(appKey), { userId }).finally(() => this.membershipChanged(appKey));
  }

  private async existing(appKey: string, roleId: string): Promise<StoredDocument> {
    const [role] = await this.store.findByIds(roleScope(appKey), [roleId]);
    if (!role) throw roleNotFound(roleId);
    return role;
  }

  private async existingUser(appKey: string, userId: string): Promise<void> {
    const [user] = await this.store.findByIds({ appKey, collection: 'user' }, [userId]);
    if (!user) throw errors.userNotFound(`No user with _id ${userId.slice(0, 100)}.`);
  }

  private async write<T>(op: () => Promise<T>, name: string): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'duplicate')
        throw errors.entityAlreadyExists(`A role named ${JSON.stringify(name.slice(0, 100))} already exists.`);
      throw err;
    }
  }

  private async ensureIndexes(appKey: string): Promise<void> {
    if (this.indexed.has(appKey)) return;
    await Promise.all([
      // Names are unique: role-based collection permissions name roles by name.
      this.store.ensureIndex(roleScope(appKey), { field: 'name', unique: true }),
      this.store.ensureIndex(memberScope(appKey), { field: 'userId' }),
      this.store.ensureIndex(memberScope(appKey), { field: 'roleId' }),
    ]);
    this.indexed.add(appKey);
  }
}

function checkRoleBody(body: unknown): RoleBody {
  const checked = checkEntityBody(body);
  const validate = validatorFor<RoleBody>(roleBodySchema);
  if (!validate(checked)) throw errors.badRequest(describeErrors(validate.errors, 'role').join('; '));
  return checked;
}

function roleDocument(id: string, input: RoleBody, now: Date, existing?: StoredDocument): StoredDocument {
  // Only name and description are kept: Kinvey ignores every other property of the body.
  return {
    _id: id,
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    _kmd: buildKmd(now, existing),
  };
}

function view(doc: StoredDocument): RoleView {
  return {
    _id: doc._id,
    name: String(doc.name),
    ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
    _kmd: doc._kmd as RoleView['_kmd'],
  };
}

function membershipView(doc: StoredDocument): MembershipView {
  return {
    roleId: String(doc.roleId),
    userId: String(doc.userId),
    grantedBy: String(doc.grantedBy),
    grantDate: String(doc.grantDate),
  };
}

/** One membership per role and user. Role ids are generated (hex, no `:`), so the id is unambiguous. */
function membershipId(roleId: string, userId: string): string {
  return `${roleId}:${userId}`;
}

function roleScope(appKey: string): CollectionScope {
  return { appKey, collection: ROLE_COLLECTION };
}

function memberScope(appKey: string): CollectionScope {
  return { appKey, collection: ROLE_MEMBER_COLLECTION };
}

function roleNotFound(id: string) {
  return errors.entityNotFound(`No role with _id ${id.slice(0, 100)}.`);
}
