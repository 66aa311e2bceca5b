/** Who is making a request, once credentials have been checked. */
export type Principal =
  | { readonly kind: 'master'; readonly appKey: string }
  | { readonly kind: 'app'; readonly appKey: string }
  | {
      readonly kind: 'user';
      readonly appKey: string;
      readonly userId: string;
      readonly username: string;
      /** The session token the request carried (echoed on self-updates). */
      readonly token: string;
      /** Ids of the groups the user belongs to, for `_acl.groups`. */
      readonly groups: readonly string[];
      /**
       * The roles the user holds (beyond `all-users`, which every user holds), by id and name:
       * ids for `_acl.roles`, ids or names for role-based collection permissions. Absent: none.
       */
      readonly roles?: readonly RoleRef[];
    };

/** A role a user holds, as the ACL needs it. */
export interface RoleRef {
  readonly id: string;
  readonly name: string;
}

/** The built-in role every user holds: its id in `_acl.roles` lists and permission tables. */
export const ALL_USERS_ROLE = 'all-users';

/** The id written into `_acl.creator`: the user's id, or the app key for master/app credentials. */
export function creatorId(principal: Principal): string {
  return principal.kind === 'user' ? principal.userId : principal.appKey;
}
