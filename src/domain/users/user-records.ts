/**
 * How users are stored and shown. A user document in the `user` collection holds the username,
 * custom fields, `_acl` and `_kmd`; password hashes live apart, in the internal `_credential`
 * collection, so no user query, projection or filter can ever reach them.
 */
import { userFieldsSchema, type UserFields } from '../../../schemas/user.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { CollectionScope, Filter, StoredDocument } from '../ports';
import { isPlainObject } from '../access/acl';
import { checkEntityBody } from '../appdata/entity-fields';
import { errors } from '../errors';
import type { Principal } from '../access/principal';

export const USER_COLLECTION = 'user';
export const CREDENTIAL_COLLECTION = '_credential';

/** Soft-deleted users carry Kinvey's `_kmd.status.val: "disabled"`; this matches everyone else. */
export const ACTIVE_USERS: Filter = { '_kmd.status.val': { $ne: 'disabled' } };

/** The fields `_lookup` returns besides `_id`: enough to find a person, nothing more. */
export const PUBLIC_USER_FIELDS: readonly string[] = ['username', 'email', 'first_name', 'last_name'];

export function userScope(appKey: string): CollectionScope {
  return { appKey, collection: USER_COLLECTION };
}

export function credentialScope(appKey: string): CollectionScope {
  return { appKey, collection: CREDENTIAL_COLLECTION };
}

export function isDisabled(doc: StoredDocument): boolean {
  const kmd = isPlainObject(doc._kmd) ? doc._kmd : {};
  return isPlainObject(kmd.status) && kmd.status.val === 'disabled';
}

export function kmdOf(doc: StoredDocument): Record<string, unknown> {
  return isPlainObject(doc._kmd) ? doc._kmd : {};
}

/** A user body split into the account fields and the custom fields that are stored as given. */
export interface UserInput {
  username?: string;
  password?: string;
  acl: unknown;
  fields: Record<string, unknown>;
}

/**
 * Validates a signup or update body. Server-owned `_id`, `_kmd` and `_acl.creator` are never
 * taken from it; `password` is split off (it is hashed, never stored in the user document).
 * Throws 400 BadRequest naming the offending field.
 */
export function parseUserBody(body: unknown): UserInput {
  const checked = checkEntityBody(body);
  const validate = validatorFor<UserFields>(userFieldsSchema);
  if (!validate(checked)) throw errors.badRequest(describeErrors(validate.errors, 'user').join('; '));
  const { _id: _ignoredId, _kmd: _ignoredKmd, _acl: acl, username, password, ...fields } = checked;
  const input: UserInput = { acl, fields };
  if (typeof username === 'string') input.username = username;
  if (typeof password === 'string') input.password = password;
  return input;
}

/**
 * Fields a viewer never sees on other users, so may not query, count, sort or select either:
 * `_socialIdentity` holds provider access tokens. Master sees everything.
 */
export function hiddenUserFields(viewer: Principal): readonly string[] {
  return viewer.kind === 'master' ? [] : ['_socialIdentity'];
}

export interface ViewExtras {
  /** Echoed in `_kmd.authtoken` (login, signup below v6, `_me` below v6, self-updates). */
  authtoken?: string;
  /** The clear-text password: only in the signup answer (the one sent, or the generated one). */
  password?: string;
}

/**
 * The user as a viewer sees it: always with a `_kmd` object (the JS SDK writes into it), never
 * with a password unless `extras` carries a generated one. Another user's `_socialIdentity`
 * (provider access tokens) is shown only to its owner and to master.
 */
export function toUserView(doc: StoredDocument, viewer: Principal, extras: ViewExtras = {}): StoredDocument {
  const { password: _never, ...view } = doc;
  const kmd: Record<string, unknown> = { ...kmdOf(doc) };
  if (viewer.kind === 'user' && viewer.userId !== doc._id) delete view._socialIdentity;
  if (extras.authtoken) kmd.authtoken = extras.authtoken;
  const shown: StoredDocument = { ...view, _kmd: kmd };
  if (extras.password !== undefined) shown.password = extras.password;
  return shown;
}
