/**
 * The apps this tab is signed in to. Master secrets live in sessionStorage only: they stay with
 * this tab, go when it closes, and are never written to localStorage or a cookie.
 */
import type { Credentials } from './api';

export interface SignedInApp extends Credentials {
  readonly name: string;
}

const KEY = 'kinbase.console.apps';

export function loadApps(): SignedInApp[] {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    if (!Array.isArray(raw)) return [];
    return (raw as unknown[]).filter(
      (a): a is SignedInApp =>
        typeof a === 'object' &&
        a !== null &&
        'appKey' in a &&
        typeof a.appKey === 'string' &&
        'masterSecret' in a &&
        typeof a.masterSecret === 'string' &&
        'name' in a &&
        typeof a.name === 'string',
    );
  } catch {
    return [];
  }
}

export function saveApps(apps: readonly SignedInApp[]): void {
  sessionStorage.setItem(KEY, JSON.stringify(apps));
}

/** Adds or replaces the app with this key. */
export function withApp(apps: readonly SignedInApp[], app: SignedInApp): SignedInApp[] {
  return [...apps.filter((a) => a.appKey !== app.appKey), app];
}
