/** The shape of `GET /admin/:appKey/business-logic`: what is configured, and the recent failures. */
export interface FunctionView {
  type: 'internal' | 'external';
  service?: string;
  handlerName?: string;
}

export interface RecentError {
  at: string;
  kind: 'hook' | 'endpoint';
  name: string;
  collection?: string;
  error: string;
  description: string;
  debug?: string;
}

export interface BusinessLogicOverview {
  configured: boolean;
  collectionHooks: Array<FunctionView & { collection: string; hook: string; origin: string }>;
  customEndpoints: Array<FunctionView & { name: string; schedule?: { start: string; intervalSeconds: number | null } }>;
  externalCollections: Array<{ collection: string; service: string; serviceObject: string }>;
  flexServices: Array<{ name: string; host: string }>;
  recentErrors: RecentError[];
}

/** Internal code runs in kinbase's sandbox; external is a Flex service's handler. */
export function FunctionKind({ spec }: { spec: FunctionView }) {
  return spec.type === 'internal' ? <span class="badge private">internal</span> : <span class="badge">Flex</span>;
}

export function handlerOf(spec: FunctionView) {
  return spec.type === 'internal' ? (
    <span class="muted">code in the environment file</span>
  ) : (
    <span>
      <code>{spec.service}</code> → <code>{spec.handlerName}</code>
    </span>
  );
}

export function describeInterval(seconds: number | null): string {
  if (seconds === null) return 'once';
  const units: Array<[number, string]> = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units)
    if (seconds % size === 0)
      return `every ${seconds / size === 1 ? '' : `${seconds / size} `}${name}${seconds / size === 1 ? '' : 's'}`;
  return `every ${seconds} s`;
}
