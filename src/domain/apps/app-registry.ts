import { timingSafeEqual, createHash } from 'node:crypto';
import type { AppDefinition, CollectionPermissions } from './app-definition';

/** The apps this server hosts, looked up by app key. Immutable after start. */
export class AppRegistry {
  private readonly byKey: ReadonlyMap<string, AppDefinition>;

  constructor(apps: readonly AppDefinition[]) {
    this.byKey = new Map(apps.map((app) => [app.appKey, app]));
  }

  get(appKey: string): AppDefinition | undefined {
    return this.byKey.get(appKey);
  }

  list(): AppDefinition[] {
    return [...this.byKey.values()];
  }
}

/** The permission level of a collection: configured, or `shared` (Kinvey's default). */
export function collectionPermissions(app: AppDefinition, collection: string): CollectionPermissions {
  // Own entries only: a collection named "constructor" is not Object.prototype.constructor.
  return Object.hasOwn(app.collections, collection) ? (app.collections[collection]?.permissions ?? 'shared') : 'shared';
}

/** The collections of an app configured with `deltaSet: true`. */
export function deltaSetCollections(app: AppDefinition | undefined): string[] {
  if (!app) return [];
  return Object.entries(app.collections)
    .filter(([, settings]) => settings.deltaSet === true)
    .map(([name]) => name);
}

/** Compares two secrets in constant time (hashing first so lengths never leak). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
