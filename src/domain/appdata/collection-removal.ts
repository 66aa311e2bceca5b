/**
 * `remove-collection`: master empties one collection of an app in one request. App collections
 * lose every entity; `user` loses every user with their credentials and sessions. The collection's
 * configuration (permissions) stays. Other system collections are refused.
 */
import type { DocumentStore } from '../ports';
import type { DeletionLog } from './deletion-log';
import { checkAppdataCollection } from './entity-fields';
import { errors } from '../errors';
import { isPlainObject } from '../access/acl';
import { SESSION_COLLECTION } from '../sessions/session-store';
import { CREDENTIAL_COLLECTION, USER_COLLECTION } from '../users/user-records';

export class CollectionRemover {
  /** `deletions` leaves tombstones for delta sets where the collection has one. */
  constructor(
    private readonly store: DocumentStore,
    private readonly deletions?: DeletionLog,
    /** Told after an app's sessions were all deleted (the session cache forgets the app). */
    private readonly sessionsEnded: (appKey: string) => void = () => {},
  ) {}

  /**
   * Removes every document of `body.collectionName`; returns how many went. Throws 400
   * MissingRequestParameter without a name, 403 IndirectCollectionAccessDisallowed for `_blob`
   * and internal collections (files are removed through /blob, which also deletes their bytes).
   */
  async removeAll(appKey: string, body: unknown): Promise<number> {
    const name = isPlainObject(body) ? body.collectionName : undefined;
    if (typeof name !== 'string' || name.length === 0)
      throw errors.missingRequestParameter('Send {"collectionName": "<name>"}.');
    if (name === USER_COLLECTION) {
      try {
        const count = await this.store.deleteMany({ appKey, collection: USER_COLLECTION }, {});
        await this.store.deleteMany({ appKey, collection: CREDENTIAL_COLLECTION }, {});
        await this.store.deleteMany({ appKey, collection: SESSION_COLLECTION }, {});
        return count;
      } finally {
        this.sessionsEnded(appKey);
      }
    }
    const collection = checkAppdataCollection(name);
    return this.deletions
      ? this.deletions.deleteMatching({ appKey, collection }, {})
      : this.store.deleteMany({ appKey, collection }, {});
  }
}
