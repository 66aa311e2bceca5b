/**
 * An app's Business Logic as the management API shows it (`GET /admin/:appKey/business-logic`):
 * what is configured where, and the recent failures. Built by an allow-list of fields: never the
 * code of internal functions or common code, never a Flex service's secret.
 */
import type { RecentBusinessLogicError } from './recent-errors';
import type { BusinessLogicConfig, FunctionSpec } from './types';

interface FunctionView {
  readonly type: 'internal' | 'external';
  readonly service?: string;
  readonly handlerName?: string;
}

export interface BusinessLogicOverview {
  readonly configured: boolean;
  readonly collectionHooks: Array<
    FunctionView & { readonly collection: string; readonly hook: string; readonly origin: string }
  >;
  readonly customEndpoints: Array<
    FunctionView & {
      readonly name: string;
      readonly schedule?: { readonly start: string; readonly intervalSeconds: number | null };
    }
  >;
  readonly externalCollections: Array<{
    readonly collection: string;
    readonly service: string;
    readonly serviceObject: string;
  }>;
  readonly flexServices: Array<{ readonly name: string; readonly host: string }>;
  /** Newest first; every instance's, from the store's shared logs (recent-errors.ts). */
  readonly recentErrors: RecentBusinessLogicError[];
}

/**
 * Describes an app's Business Logic (absent: nothing configured), entries sorted by collection or
 * name; the configuration's null-prototype maps are read by their own entries only. Never throws.
 */
export function describeBusinessLogic(
  config: BusinessLogicConfig | undefined,
  recentErrors: RecentBusinessLogicError[],
): BusinessLogicOverview {
  if (!config)
    return {
      configured: false,
      collectionHooks: [],
      customEndpoints: [],
      externalCollections: [],
      flexServices: [],
      recentErrors,
    };
  const collectionHooks = sortedEntries(config.collectionHooks).flatMap(([collection, hooks]) =>
    Object.entries(hooks).flatMap(([hook, spec]) =>
      spec ? [{ collection, hook, ...functionView(spec), origin: spec.origin }] : [],
    ),
  );
  const customEndpoints = sortedEntries(config.customEndpoints).map(([name, endpoint]) => ({
    name,
    ...functionView(endpoint.function),
    ...(endpoint.schedule
      ? {
          schedule: {
            start: endpoint.schedule.start.toISOString(),
            intervalSeconds: endpoint.schedule.intervalSeconds,
          },
        }
      : {}),
  }));
  return {
    configured: true,
    collectionHooks,
    customEndpoints,
    externalCollections: sortedEntries(config.externalCollections).map(([collection, spec]) => ({
      collection,
      service: spec.service,
      serviceObject: spec.serviceObject,
    })),
    flexServices: sortedEntries(config.flexServices).map(([name, spec]) => ({
      name,
      host: withoutUserInfo(spec.host),
    })),
    recentErrors,
  };
}

function functionView(spec: FunctionSpec): FunctionView {
  // Internal: only the type; its code stays on the server.
  return spec.type === 'internal'
    ? { type: 'internal' }
    : { type: 'external', service: spec.service, handlerName: spec.handlerName };
}

function sortedEntries<T>(map: Readonly<Record<string, T>>): Array<[string, T]> {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A host URL may carry credentials (`https://user:pass@flex.example`); they are not shown. */
function withoutUserInfo(host: string): string {
  try {
    const url = new URL(host);
    if (!url.username && !url.password) return host;
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return host.replace(/\/\/[^/@]*@/, '//');
  }
}
