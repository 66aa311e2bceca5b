/**
 * The principals the ACL unit tests check access for, one per way of being granted it: master,
 * an entity's creator, a user listed in `r` or `w`, a member of the reading and writing groups,
 * a holder of the `hr` role (and the reading group), and a stranger in an unrelated group.
 */
import type { Principal, RoleRef } from '../../src/domain/access/principal';

export function aclPrincipals(appKey: string): Record<string, Principal> {
  const user = (userId: string, groups: string[] = [], roles: RoleRef[] = []): Principal => ({
    kind: 'user',
    appKey,
    userId,
    username: userId,
    token: 't',
    groups,
    roles,
  });
  return {
    master: { kind: 'master', appKey },
    creator: user('u-creator'),
    reader: user('u-reader'),
    writer: user('u-writer'),
    member: user('u-member', ['g-readers', 'g-writers']),
    hr: user('u-hr', ['g-readers'], [{ id: 'role-hr', name: 'HR' }]),
    stranger: user('u-stranger', ['g-unrelated']),
  };
}
