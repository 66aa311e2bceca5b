import type { AppDefinition } from '../apps/app-definition';
import { isKinveyError } from '../errors';
import type { GroupsService } from './groups.service';

/**
 * Creates the groups an app's environment file lists, once: a group that already exists (created
 * by an earlier start, or since changed through /group) is left as it is. Returns the ids created.
 */
export async function createEnvironmentGroups(app: AppDefinition, groups: GroupsService): Promise<string[]> {
  const created: string[] = [];
  for (const group of app.groups ?? []) {
    const body: Record<string, unknown> = {
      _id: group._id,
      groups: group.groups.map((_id) => ({ _type: 'KinveyRef', _collection: 'group', _id })),
    };
    if (group.name !== undefined) body.name = group.name;
    if (group.description !== undefined) body.description = group.description;
    try {
      await groups.create(app.appKey, { kind: 'master', appKey: app.appKey }, body);
      created.push(group._id);
    } catch (err) {
      if (!(isKinveyError(err) && err.error === 'EntityAlreadyExists')) throw err;
    }
  }
  return created;
}
