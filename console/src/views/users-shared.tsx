/** What the Users views share: the user record as `/user` returns it to master, and the calls on it. */
import type { Api } from '../api';

export interface UserRecord {
  _id: string;
  username?: string;
  email?: string;
  _acl?: Record<string, unknown>;
  _kmd?: {
    ect?: string;
    lmt?: string;
    llt?: string;
    status?: { val?: string; lastChange?: string };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface GroupRecord {
  _id: string;
  users?: { all?: boolean; list?: Array<{ _id: string }> };
  groups?: Array<{ _id: string }>;
  _kmd?: { ect?: string; lmt?: string };
  [field: string]: unknown;
}

export type StatusFilter = 'all' | 'active' | 'disabled';

/** Soft-deleted by `DELETE /user/:appKey/:id`: Kinvey's `_kmd.status.val` is `disabled`. */
export function isDisabled(user: UserRecord): boolean {
  return user._kmd?.status?.val === 'disabled';
}

/** A regex matching `text` literally, from the start: anchored prefixes are what the server runs fast. */
export function prefixPattern(text: string): string {
  return `^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
}

/**
 * The `query` and `includeDisabled` of a user listing: the search matches a username or an email
 * by prefix (case-insensitive), the status filter picks active, disabled or both.
 */
export function userListQuery(search: string, status: StatusFilter): { query?: string; includeDisabled?: string } {
  const filter: Record<string, unknown> = {};
  const text = search.trim();
  if (text) {
    const match = { $regex: prefixPattern(text), $options: 'i' };
    filter.$or = [{ username: match }, { email: match }, ...(/^[0-9a-f]{24}$/i.test(text) ? [{ _id: text }] : [])];
  }
  if (status === 'disabled') filter['_kmd.status.val'] = 'disabled';
  return {
    ...(Object.keys(filter).length ? { query: JSON.stringify(filter) } : {}),
    ...(status === 'active' ? {} : { includeDisabled: 'true' }),
  };
}

/**
 * Sets a user's password as master: `PUT /user/:appKey/:id` with the whole user (the API replaces
 * custom fields) plus `password`. The server then ends every session of the user.
 */
export async function setPassword(api: Api, id: string, password: string): Promise<void> {
  const current = await api.get<UserRecord>(api.user(id));
  const { _kmd: _kmdIgnored, ...fields } = current;
  await api.put(api.user(id), { ...fields, password });
}

/** The groups that list this user (or all users): read from the master group list, up to 1000. */
export async function groupsOf(api: Api, userId: string): Promise<GroupRecord[]> {
  const groups = await api.get<GroupRecord[]>(api.group(), { limit: 1000 });
  return groups.filter((g) => g.users?.all === true || (g.users?.list ?? []).some((ref) => ref._id === userId));
}

export function displayUser(user: UserRecord): string {
  return typeof user.username === 'string' ? user.username : user._id;
}

/** A compact local date and time (the table has six columns to fit). */
export function shortDate(value: unknown): string {
  if (typeof value !== 'string') return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}
