/**
 * Hash routes: `#/<appKey>/<section>/<rest...>`. The hash keeps the console one static page, so
 * a reload or a shared link lands on the same view (the secret stays in this tab's storage).
 */
import { useEffect, useState } from 'preact/hooks';

export type Section = 'overview' | 'collections' | 'files' | 'users' | 'groups' | 'business-logic';
export const SECTIONS: ReadonlyArray<{ id: Section; label: string }> = [
  { id: 'overview', label: 'Overview' },
  { id: 'collections', label: 'Collections' },
  { id: 'files', label: 'Files' },
  { id: 'users', label: 'Users' },
  { id: 'groups', label: 'Groups' },
  { id: 'business-logic', label: 'Business Logic' },
];

export interface Route {
  appKey: string | null;
  section: Section;
  /** Decoded segments after the section (a collection name, an id). */
  rest: string[];
}

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const appKey = parts[0] ?? null;
  const section = SECTIONS.find((s) => s.id === parts[1])?.id ?? 'overview';
  return { appKey, section, rest: parts.slice(2) };
}

export function href(appKey: string, section: Section, ...rest: string[]): string {
  return `#/${[appKey, section, ...rest].map(encodeURIComponent).join('/')}`;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
