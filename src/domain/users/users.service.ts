/**
 * User accounts (`/user/:appKey`): signup, login and logout, reads and queries, updates, soft and
 * hard deletion. Users are readable by every user of the app and writable only by themselves or
 * master. Passwords are proved only through password-proof.ts: by `login` and by `loginWithBasic`
 * (Basic user credentials), which the HTTP login pipeline wraps in the login hooks.
 */
import { randomUUID } from 'node:crypto';
import { loginBodySchema, type LoginBody } from '../../../schemas/user.schema';
import { describeErrors, validatorFor } from '../../../schemas/validator';
import type { AppDefinition } from '../apps/app-definition';
import { StoreError, type DocumentStore, type Filter, type SharedCounters, type StoredDocument } from '../ports';
import { buildAcl, isPlainObject, restrict } from '../access/acl';
import { MAX_RESULT_SET } from '../appdata/entities.service';
import { buildKmd, checkClientId, newEntityId } from '../appdata/entity-fields';
import { errors } from '../errors';
import type { GroupsService } from '../groups/groups.service';
import { LoginThrottle, type LoginAttempt } from './login-throttle';
import { MemorySharedState } from '../memory-shared-state';
import type { MfaChallenge, SecondFactor } from '../mfa/mfa.service';
import { PasswordProof, translateBusy } from './password-proof';
import { generatePassword, type PasswordHasher } from './passwords';
import type { Principal } from '../access/principal';
import { refuseHiddenFields, sanitizeFilter, type ListQuery } from '../query/parse-query';
import type { SessionCache } from '../sessions/session-cache';
import { SessionStore, type Membership } from '../sessions/session-store';
import type { RolesService } from '../roles/roles.service';
import {
  ACTIVE_USERS,
  PUBLIC_USER_FIELDS,
  credentialScope,
  hiddenUserFields,
  isDisabled,
  kmdOf,
  parseUserBody,
  toUserView,
  userScope,
} from './user-records';

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export interface UsersServiceOptions {
  /** Hashes and checks passwords (in production off the event loop and off libuv's pool). */
  readonly passwords: PasswordHasher;
  /** Failed-login limits; by default a throttle counting in `counters`. */
  readonly throttle?: LoginThrottle;
  /** Where the default throttle counts: the store's shared counters (so every instance counts together). */
  readonly counters?: SharedCounters;
  readonly clock?: () => Date;
  /** Stamps `_kmd.lmt` (the app's MonotonicClock: every lmt comes from one clock); `clock` by default. */
  readonly stampWrite?: () => Date;
  readonly sessionTtlSeconds?: number;
  /** Multi-factor authentication, asked after every right password (mfa.service.ts); none by default. */
  readonly secondFactor?: SecondFactor;
  /** Resolved sessions kept in memory (session-cache.ts); off by default. */
  readonly sessionCache?: SessionCache;
  /** `settings.emailVerification.required` of an app: its users log in only with a confirmed address. */
  readonly emailVerificationRequired?: (appKey: string) => boolean;
  /** Told of every new user (the verification mail of `settings.emailVerification.auto`); must not throw. */
  readonly onSignup?: (appKey: string, user: StoredDocument) => Promise<void>;
  /** The roles users hold (roles.service.ts); none without it. */
  readonly roles?: RolesService;
}

/**
 * What a login answers: the user with `_kmd.authtoken`, with `secondFactor` when MFA was on and
 * passed by a recovery code or device token (the wire shape is then `{mfaRequired:false, user,
 * authToken}`); or, for a user with MFA on, the challenge instead of a session.
 */
export type LoginAnswer =
  { readonly user: StoredDocument; readonly secondFactor: boolean } | { readonly challenge: MfaChallenge };

/** One message for unknown users and wrong passwords, so the answer never tells which it was. */
const LOGIN_FAILED = 'The username or password is wrong.';

/**
 * A user with MFA on has no password-only way in: Basic credentials would skip the second factor.
 * Said only after the password was right, so it tells nothing to someone guessing it.
 */
const BASIC_NEEDS_NO_MFA =
  'This user has multi-factor authentication on, so Basic user credentials are refused. Log in with POST /user/:appKey/login and the second factor, then send Authorization: Kinvey <authtoken>.';

/**
 * Said only after the password was right. Kinvey's guides name no error of their own for this;
 * InsufficientCredentials (401) is the catalogue's "not allowed" and, unlike InvalidCredentials,
 * does not make the SDKs drop the session they hold.
 */
const EMAIL_NOT_VERIFIED =
  'This app requires a confirmed e-mail address before login: open the link of the verification mail, or ask for a new one with POST /rpc/:appKey/:username/user-email-verification-initiate.';

/** What a proof by Basic user credentials grants: the request's principal, and the user as a login shows it (for the login hooks). */
export interface BasicLogin {
  readonly principal: UserPrincipal;
  readonly user: StoredDocument;
}

export class UsersService {
  readonly sessions: SessionStore;
  private readonly clock: () => Date;
  private readonly stampWrite: () => Date;
  private readonly passwords: PasswordHasher;
  private readonly proof: PasswordProof;
  private readonly secondFactor: SecondFactor | undefined;
  private readonly emailVerificationRequired: (appKey: string) => boolean;
  private readonly onSignup: ((appKey: string, user: StoredDocument) => Promise<void>) | undefined;
  private readonly roles: RolesService | undefined;
  private readonly indexed = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    private readonly groups: GroupsService,
    options: UsersServiceOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.stampWrite = options.stampWrite ?? this.clock;
    this.passwords = options.passwords;
    this.proof = new PasswordProof(
      store,
      this.passwords,
      options.throttle ??
        new LoginThrottle({
          counters: options.counters ?? new MemorySharedState({ clock: this.clock }),
          clock: this.clock,
        }),
    );
    this.secondFactor = options.secondFactor;
    this.emailVerificationRequired = options.emailVerificationRequired ?? (() => false);
    this.onSignup = options.onSignup;
    this.roles = options.roles;
    this.sessions = new SessionStore(store, {
      clock: this.clock,
      ...(options.sessionTtlSeconds ? { ttlSeconds: options.sessionTtlSeconds } : {}),
      ...(options.sessionCache ? { cache: options.sessionCache } : {}),
    });
  }

  /**
   * SessionVerifier: the principal of a live token, or null. No store round trip while the token
   * is cached; four otherwise (the session, the user's groups, role memberships and roles).
   */
  async verifyToken(app: AppDefinition, token: string): Promise<Principal | null> {
    const session = await this.sessions.resolve(app.appKey, token, (owner) =>
      this.membershipOf(app.appKey, owner.userId),
    );
    if (!session) return null;
    return {
      kind: 'user',
      appKey: app.appKey,
      userId: session.userId,
      username: session.username,
      token,
      groups: session.groups,
      roles: session.roles,
    };
  }

  /** The groups and roles a user holds, for the user's Principal. */
  private async membershipOf(appKey: string, userId: string): Promise<Membership> {
    const [groups, roles] = await Promise.all([
      this.groups.membershipOf(appKey, userId),
      this.roles ? this.roles.heldBy(appKey, userId) : Promise.resolve([]),
    ]);
    return { groups, roles };
  }

  /**
   * Throws 429 TooManyLoginAttempts when a login of `username` (if it is a string) from `client`
   * would be refused by the throttle now; counts nothing. The login pipeline asks this before the
   * login hooks, so a throttled flood costs no hook run either.
   */
  async refuseThrottledLogin(appKey: string, username: unknown, client?: string): Promise<void> {
    if (typeof username !== 'string') return;
    await this.proof.refuseWhileThrottled({ appKey, username, ...(client === undefined ? {} : { client }) });
  }

  /**
   * Basic user credentials (API below 6), as a login: `body` is `{username, password}` (after the
   * login hooks). The same throttle as `login`, by username and `client`; a user with MFA on is
   * refused outright (Basic has no second factor). Returns the principal of a request without a
   * session. Throws 400 for a malformed body, 401 InvalidCredentials for a wrong password, an
   * unknown or disabled user, and (only once the password was right) a user with MFA on; 429
   * TooManyLoginAttempts.
   */
  async loginWithBasic(app: AppDefinition, body: unknown, client?: string): Promise<BasicLogin> {
    const { username, password } = parseLoginBody(body);
    const user = await this.proof.check(
      { appKey: app.appKey, username, ...(client === undefined ? {} : { client }) },
      password,
    );
    if (!user) throw errors.invalidCredentials(LOGIN_FAILED);
    this.refuseUnverified(app.appKey, user);
    if (await this.secondFactor?.isOn(app.appKey, user._id)) throw errors.invalidCredentials(BASIC_NEEDS_NO_MFA);
    const { groups, roles } = await this.membershipOf(app.appKey, user._id);
    return {
      principal: {
        kind: 'user',
        appKey: app.appKey,
        userId: user._id,
        username: String(user.username),
        token: '',
        groups,
        roles,
      },
      user: toUserView(user, { kind: 'app', appKey: app.appKey }),
    };
  }

  /**
   * Creates a user. Without a username one is generated; without a password one is generated and
   * returned in clear text, once. `startSession` (API below 6) also logs the user in. Throws 400
   * for a malformed body and 409 UserAlreadyExists for a taken username.
   */
  async signup(principal: Principal, body: unknown, options: { startSession: boolean }): Promise<StoredDocument> {
    const input = parseUserBody(body ?? {});
    const now = this.clock();
    const id = newEntityId(now);
    const username = input.username ?? randomUUID();
    refuseAppKeyAsUsername(principal.appKey, username);
    // `null` or no password: one is generated. Either way the signup answer (and only it) carries
    // the clear-text password, as Kinvey's does: the SDKs log in with `user.data.password` next.
    const password = input.password ?? generatePassword();
    const hash = await this.hash(password);
    const doc: StoredDocument = {
      _id: id,
      username,
      ...input.fields,
      _acl: buildAcl(input.acl, principal, { _acl: { creator: id } }),
      _kmd: buildKmd(this.stampWrite()),
    };
    await this.ensureIndexes(principal.appKey);
    // The credential goes first, so a user document never exists without one.
    await this.store.insert(credentialScope(principal.appKey), { _id: id, hash });
    try {
      await this.store.insert(userScope(principal.appKey), doc);
    } catch (err) {
      await this.store.deleteById(credentialScope(principal.appKey), id);
      throw translateDuplicate(err, username);
    }
    const authtoken = options.startSession ? await this.startSession(principal.appKey, doc, now) : undefined;
    if (this.onSignup) await this.onSignup(principal.appKey, doc);
    return toUserView(doc, principal, { ...(authtoken ? { authtoken } : {}), password });
  }

  /**
   * Logs a user in: the user with `_kmd.authtoken` and `_kmd.llt`. Unknown users, disabled users
   * and wrong passwords all throw the same 401 InvalidCredentials after the same hashing work.
   * Too many failures for the username or from `client` (the remote address) throw 429
   * TooManyLoginAttempts before any hashing (see login-throttle.ts). A user with MFA on gets the
   * challenge instead (see LoginAnswer).
   */
  async login(principal: Principal, body: unknown, client?: string): Promise<LoginAnswer> {
    if (isPlainObject(body) && body._socialIdentity !== undefined && body.username === undefined) {
      throw errors.featureUnavailable(
        'Social identity login is not supported by this server; log in with username and password.',
      );
    }
    const input = parseLoginBody(body);
    const attempt: LoginAttempt = {
      appKey: principal.appKey,
      username: input.username,
      ...(client === undefined ? {} : { client }),
    };
    const user = await this.proof.check(attempt, input.password);
    if (!user) throw errors.invalidCredentials(LOGIN_FAILED);
    this.refuseUnverified(principal.appKey, user);
    const gate = await this.secondFactor?.gateLogin(principal.appKey, user, input);
    if (gate?.kind === 'challenge') return { challenge: gate.challenge };
    return { user: await this.sessionView(principal, user), secondFactor: gate?.kind === 'passed' };
  }

  /**
   * Logs in a user whose second factor was just checked (MFA complete): the user with
   * `_kmd.authtoken`. Throws 401 InvalidCredentials when the user is gone or disabled meanwhile.
   */
  async loginAfterSecondFactor(principal: Principal, userId: string): Promise<StoredDocument> {
    const [user] = await this.store.findByIds(userScope(principal.appKey), [userId], ACTIVE_USERS);
    if (!user) throw errors.invalidCredentials(LOGIN_FAILED);
    return this.sessionView(principal, user);
  }

  private async sessionView(principal: Principal, user: StoredDocument): Promise<StoredDocument> {
    const now = this.clock();
    const authtoken = await this.startSession(principal.appKey, user, now);
    const kmd = { ...kmdOf(user), llt: now.toISOString() };
    return toUserView({ ...user, _kmd: kmd }, principal, { authtoken });
  }

  /** Ends the caller's session. Basic user credentials have no session; nothing happens. */
  async logout(principal: UserPrincipal): Promise<void> {
    await this.sessions.revoke(principal.appKey, principal.token);
  }

  /** The caller's own user; `includeToken` echoes the session token (API below 6). Throws 404 UserNotFound. */
  async me(principal: UserPrincipal, options: { includeToken: boolean }): Promise<StoredDocument> {
    const user = await this.activeUser(principal.appKey, principal.userId);
    return toUserView(user, principal, options.includeToken && principal.token ? { authtoken: principal.token } : {});
  }

  /** One active user. Throws 404 UserNotFound (also for soft-deleted users). */
  async get(principal: Principal, id: string): Promise<StoredDocument> {
    return toUserView(await this.activeUser(principal.appKey, id), principal);
  }

  /**
   * Active users matching the query; with `includeDisabled`, master also sees soft-deleted users
   * (with their `_kmd.status`), so a console can list and restore them. Ignored for anyone else.
   * Throws 400 ResultSetSizeExceeded above 10,000 results.
   */
  async list(principal: Principal, query: ListQuery, options: ListOptions = {}): Promise<StoredDocument[]> {
    refuseHiddenFields(query, hiddenUserFields(principal));
    const docs = await this.findCapped(principal.appKey, visibleUsers(principal, query.filter, options), query);
    return docs.map((doc) => toUserView(doc, principal));
  }

  /** How many active users match the filter (with `includeDisabled`, for master: all users). */
  async count(principal: Principal, filter: Filter, options: ListOptions = {}): Promise<number> {
    refuseHiddenFields({ filter }, hiddenUserFields(principal));
    return this.store.count(userScope(principal.appKey), visibleUsers(principal, filter, options));
  }

  /**
   * `_lookup`: public projections (`_id`, username, email, names) of the active users matching a
   * filter object. Throws 400 InvalidQuerySyntax for a filter the sanitiser refuses.
   */
  async lookup(principal: Principal, body: unknown): Promise<StoredDocument[]> {
    const filter = body === undefined || body === null ? {} : sanitizeFilter(body);
    refuseHiddenFields({ filter }, hiddenUserFields(principal));
    return this.findCapped(principal.appKey, restrict(filter, ACTIVE_USERS), { fields: PUBLIC_USER_FIELDS });
  }

  /**
   * Replaces a user's custom fields (the SDKs send the whole user); `password` sets a new one and
   * ends every other session of the user (all of them when master changes it; Basic user
   * credentials have no session to keep). Only the user themselves or master. A self-update
   * echoes the caller's token. Throws 401 InsufficientCredentials, 404 UserNotFound, 409
   * UserAlreadyExists, 400 for a malformed body.
   */
  async update(principal: Principal, id: string, body: unknown): Promise<StoredDocument> {
    const isSelf = principal.kind === 'user' && principal.userId === id;
    if (principal.kind !== 'master' && !isSelf)
      throw errors.insufficientCredentials('Users may only update their own account.');
    const input = parseUserBody(body);
    const appKey = principal.appKey;
    const existing = await this.activeUser(appKey, id);
    await this.ensureIndexes(appKey);
    const username = input.username ?? (existing.username as string);
    if (input.username !== undefined) refuseAppKeyAsUsername(appKey, username);
    const hash = input.password === undefined ? undefined : await this.hash(input.password);
    const doc: StoredDocument = {
      _id: id,
      username,
      ...input.fields,
      _acl: buildAcl(input.acl, principal, existing),
      _kmd: { ...keptKmd(existing, input.fields.email), ...buildKmd(this.stampWrite(), existing) },
    };
    let replaced: boolean;
    try {
      replaced = await this.store.replace(userScope(appKey), doc, ACTIVE_USERS);
    } catch (err) {
      throw translateDuplicate(err, username);
    }
    if (!replaced) throw userNotFound(id);
    if (hash) {
      await this.store.upsert(credentialScope(appKey), { _id: id, hash });
      // A new password ends every other session, so a token taken along with the old password
      // dies with it. The session that made the change survives; master's change ends them all.
      await this.sessions.revokeAllOf(appKey, id, isSelf && principal.kind === 'user' ? principal.token : undefined);
    }
    if (username !== existing.username) await this.sessions.renameOwner(appKey, id, username);
    return toUserView(
      doc,
      principal,
      isSelf && principal.kind === 'user' && principal.token ? { authtoken: principal.token } : {},
    );
  }

  /**
   * Deletes a user (master only, checked by the route). Soft by default: the user disappears
   * from reads and logins but keeps the username; `hard` removes everything. Either way every
   * session of the user ends. A soft delete of a user already disabled succeeds and changes
   * nothing (Kinvey answered it so: kinvey-js-sdk's integration tests soft-delete one user twice).
   * Throws 404 UserNotFound for a user that does not exist.
   */
  async remove(appKey: string, id: string, options: { hard: boolean }): Promise<void> {
    if (options.hard) {
      if (!(await this.store.deleteById(userScope(appKey), id))) throw userNotFound(id);
      await this.store.deleteById(credentialScope(appKey), id);
      await this.roles?.forgetUser(appKey, id);
    } else {
      const status = { val: 'disabled', lastChange: this.clock().toISOString() };
      // Only an active user is disabled, so a repeat keeps the first lastChange.
      const disabledNow = await this.store.setFields(userScope(appKey), id, { '_kmd.status': status }, ACTIVE_USERS);
      if (!disabledNow && (await this.store.findByIds(userScope(appKey), [id])).length === 0) throw userNotFound(id);
    }
    await this.sessions.revokeAllOf(appKey, id);
  }

  /** Re-enables a soft-deleted user (a no-op for an active one). Throws 404 UserNotFound. */
  async restore(appKey: string, id: string): Promise<void> {
    const [user] = await this.store.findByIds(userScope(appKey), [id]);
    if (!user) throw userNotFound(id);
    if (!isDisabled(user)) return;
    const { status: _status, ...kmd } = kmdOf(user);
    await this.store.replace(userScope(appKey), { ...user, _kmd: { ...kmd, lmt: this.stampWrite().toISOString() } });
  }

  /** Ends every session of a user: the user themselves or master. Throws 401 or 404 UserNotFound. */
  async invalidateTokens(principal: Principal, id: string): Promise<void> {
    if (principal.kind === 'user' && principal.userId !== id)
      throw errors.insufficientCredentials('Users may only invalidate their own tokens.');
    if (principal.kind !== 'user') await this.activeUser(principal.appKey, id);
    await this.sessions.revokeAllOf(principal.appKey, id);
  }

  /**
   * Sets a user's password (the reset page, after its link was used) and ends every session of the
   * user: whoever held the old password or a token taken with it is out.
   */
  async setPassword(appKey: string, userId: string, password: string): Promise<void> {
    const hash = await this.hash(password);
    await this.store.upsert(credentialScope(appKey), { _id: userId, hash });
    await this.sessions.revokeAllOf(appKey, userId);
  }

  /** 401 after a right password when the app requires a confirmed address and this user has none. */
  private refuseUnverified(appKey: string, user: StoredDocument): void {
    if (!this.emailVerificationRequired(appKey)) return;
    const verification = kmdOf(user).emailVerification;
    if (isPlainObject(verification) && verification.status === 'confirmed') return;
    throw errors.insufficientCredentials(EMAIL_NOT_VERIFIED);
  }

  private async hash(password: string): Promise<string> {
    return this.passwords.hash(password).catch((err: unknown) => {
      throw translateBusy(err);
    });
  }

  private async startSession(appKey: string, user: StoredDocument, now: Date): Promise<string> {
    const token = await this.sessions.issue(appKey, { userId: user._id, username: String(user.username) });
    await this.store.setFields(userScope(appKey), user._id, { '_kmd.llt': now.toISOString() });
    return token;
  }

  private async activeUser(appKey: string, id: string): Promise<StoredDocument> {
    checkClientId(id);
    const [user] = await this.store.findByIds(userScope(appKey), [id], ACTIVE_USERS);
    if (!user) throw userNotFound(id);
    return user;
  }

  private async findCapped(
    appKey: string,
    filter: Filter,
    query: Omit<ListQuery, 'filter'>,
  ): Promise<StoredDocument[]> {
    const limit = Math.min(query.limit ?? Infinity, MAX_RESULT_SET + 1);
    const docs = await this.store.find(userScope(appKey), filter, { ...query, limit });
    if (docs.length > MAX_RESULT_SET) throw errors.resultSetSizeExceeded('Page through users with limit and skip.');
    return docs;
  }

  /** The unique username index, created once per app and process. */
  private async ensureIndexes(appKey: string): Promise<void> {
    if (this.indexed.has(appKey)) return;
    await this.store.ensureIndex(userScope(appKey), { field: 'username', unique: true });
    this.indexed.add(appKey);
  }
}

export interface ListOptions {
  /** Master only: soft-deleted users too. */
  readonly includeDisabled?: boolean;
}

/** The filter a listing runs: soft-deleted users stay hidden unless master asked for them. */
function visibleUsers(principal: Principal, filter: Filter, options: ListOptions): Filter {
  return options.includeDisabled && principal.kind === 'master' ? filter : restrict(filter, ACTIVE_USERS);
}

/**
 * The `_kmd` an update keeps. A new e-mail address drops `emailVerification`: a confirmation was for
 * the old address, and an app that requires verification must not take the new one as confirmed.
 */
function keptKmd(existing: StoredDocument, email: unknown): Record<string, unknown> {
  const kmd = kmdOf(existing);
  if (email === existing.email || kmd.emailVerification === undefined) return kmd;
  const { emailVerification: _dropped, ...rest } = kmd;
  return rest;
}

/** `{username, password}` (more keys allowed), or 400 IncompleteRequestBody. */
function parseLoginBody(body: unknown): LoginBody {
  const validate = validatorFor<LoginBody>(loginBodySchema);
  if (!validate(body)) throw errors.incompleteRequestBody(describeErrors(validate.errors, 'body').join('; '));
  return body;
}

function userNotFound(id: string) {
  return errors.userNotFound(`No user with _id ${id.slice(0, 100)}.`);
}

/**
 * The app key is the username master and app credentials act under (Business Logic sees
 * `request.username` = app key for them, as on Kinvey): no user may take it, or hook code checking
 * the username would take that user for the app itself.
 */
function refuseAppKeyAsUsername(appKey: string, username: string): void {
  if (username === appKey)
    throw errors.userAlreadyExists('The app key is reserved for the app itself and cannot be a username.');
}

function translateDuplicate(err: unknown, username: string): unknown {
  if (err instanceof StoreError && err.kind === 'duplicate')
    return errors.userAlreadyExists(`The username ${username.slice(0, 100)} is taken.`);
  return err;
}
