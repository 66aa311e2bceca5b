/**
 * The collections of an app as the management API lists them (`GET /admin/:appKey/collections`):
 * those holding documents in the store, joined with those the app's configuration names.
 */
import type { AppDefinition } from './app-definition';
import type { DocumentStore } from '../ports';
import { collectionPermissions } from './app-registry';
import { mapWithLimit } from '../../internal/bounded-concurrency';

/** At most this many collections are listed (the first ones by name). */
export const MAX_LISTED_COLLECTIONS = 1000;
/** Counts of one listing in flight at once. */
const COUNT_CONCURRENCY = 8;

/** One collection of an app, as the management API shows it. */
export interface CollectionSummary {
  readonly name: string;
  /** Its permission level (`shared` unless configured), or `role-based` for a role table. */
  readonly permissions: string;
  /** Its entities; null for an external (Flex-backed) collection, whose data kinbase does not hold. */
  readonly count: number | null;
  readonly deltaSet: boolean;
  /** Fields indexed beyond the ones kinbase always indexes (`collections.<name>.indexes`). */
  readonly indexes: string[];
  readonly external: boolean;
  /** Names of the collection hooks configured for it (`onPreSave`, ...), in configuration order. */
  readonly hooks: string[];
}

/**
 * Whether a name is one of kinbase's internal collections (`_session`, `_credential`, `_group`,
 * `_blob`, `_tombstone`, `_mfa_*`, ...: every one starts with `_`) or the users' (`user`).
 */
export function isSystemCollection(name: string): boolean {
  return name === 'user' || name.startsWith('_');
}

/** Lists an app's collections for its operator; never another app's, never an internal one. */
export class CollectionCatalog {
  constructor(private readonly store: DocumentStore) {}

  /**
   * The app's data collections sorted by name: every one holding documents in the store, plus every
   * one its configuration names (collections, external collections, collection hooks), internal
   * ones left out. At most MAX_LISTED_COLLECTIONS, the first by name. A stored collection whose
   * documents were all deleted may still be listed (count 0): MongoDB keeps emptied collections.
   * Each count is one store call, at most COUNT_CONCURRENCY at once. Throws what the store throws.
   */
  async list(app: AppDefinition): Promise<CollectionSummary[]> {
    const config = app.businessLogic;
    // A Set of strings: stored names are whatever was stored, and never become object keys.
    const names = new Set<string>(await this.store.listCollections(app.appKey));
    for (const name of Object.keys(app.collections)) names.add(name);
    if (config) {
      for (const name of Object.keys(config.externalCollections)) names.add(name);
      for (const name of Object.keys(config.collectionHooks)) names.add(name);
    }
    const listed = [...names]
      .filter((name) => !isSystemCollection(name))
      .sort()
      .slice(0, MAX_LISTED_COLLECTIONS);
    return mapWithLimit(listed, COUNT_CONCURRENCY, async (name) => {
      const external = config !== undefined && Object.hasOwn(config.externalCollections, name);
      const settings = Object.hasOwn(app.collections, name) ? app.collections[name] : undefined;
      const hooks = config && Object.hasOwn(config.collectionHooks, name) ? config.collectionHooks[name] : undefined;
      return {
        name,
        permissions: permissionLabel(collectionPermissions(app, name)),
        count: external ? null : await this.store.count({ appKey: app.appKey, collection: name }, {}),
        deltaSet: settings?.deltaSet === true,
        indexes: [...(settings?.indexes ?? [])],
        external,
        hooks: hooks
          ? Object.entries(hooks)
              .filter(([, spec]) => spec !== undefined)
              .map(([hook]) => hook)
          : [],
      };
    });
  }
}

function permissionLabel(permissions: ReturnType<typeof collectionPermissions>): string {
  return typeof permissions === 'string' ? permissions : 'role-based';
}
