/**
 * The principals the ACL unit tests check access for, one per way of being granted it: master,
 * an entity's creator, a user listed in `r` or `w`, a member of the reading and writing groups,
 * and a stranger in an unrelated group.
 */
import type { Principal } from '../../src/domain/access/principal';

export function aclPrincipals(appKey: string): Record<string, Principal> {
  const user = (userId: string, groups: string[] = []): Principal => ({
    kind: 'user',
    appKey,
    userId,
    username: userId,
    token: 't',
    groups,
  });
  return {
    master: { kind: 'master', appKey },
    creator: user('u-creator'),
    reader: user('u-reader'),
    writer: user('u-writer'),
    member: user('u-member', ['g-readers', 'g-writers']),
    stranger: user('u-stranger', ['g-unrelated']),
  };
}
