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
    };

/** The id written into `_acl.creator`: the user's id, or the app key for master/app credentials. */
export function creatorId(principal: Principal): string {
  return principal.kind === 'user' ? principal.userId : principal.appKey;
}
