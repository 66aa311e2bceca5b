/** Users: the app's accounts, searched and paged as master; create, disable, restore, delete, set a password. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { describeError } from '../api';
import { ErrorBox, Pager, formatDate, toast, useAsync } from '../components/common';
import { ConfirmDelete, CreateUser, SetPassword } from './users-forms';
import { UserDetail } from './users-detail';
import { displayUser, isDisabled, shortDate, userListQuery, type StatusFilter, type UserRecord } from './users-shared';

const PAGE = 25;
type SortField = 'username' | 'email' | '_kmd.ect' | '_kmd.lmt';
type Dialog = { kind: 'create' } | { kind: 'password' | 'delete' | 'detail'; user: UserRecord } | null;

const COLUMNS: ReadonlyArray<{ field: SortField | null; label: string }> = [
  { field: 'username', label: 'Username' },
  { field: 'email', label: 'Email' },
  { field: null, label: '_id' },
  { field: '_kmd.ect', label: 'Created' },
  { field: '_kmd.lmt', label: 'Last modified' },
  { field: null, label: 'Status' },
];

export function Users({ api }: { api: Api }) {
  const [searchInput, setSearchInput] = useState('');
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<StatusFilter>('all');
  const [skip, setSkip] = useState(0);
  const [sort, setSort] = useState<{ field: SortField; dir: 1 | -1 }>({ field: '_kmd.ect', dir: -1 });
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busy, setBusy] = useState<string | null>(null);

  // Typing narrows the list after a short pause, so each keystroke does not cost a query.
  useEffect(() => {
    if (searchInput.trim() === search) return undefined;
    const timer = setTimeout(() => {
      setSearch(searchInput.trim());
      setSkip(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [searchInput]);

  const params = userListQuery(search, status);
  const list = useAsync(
    (signal) =>
      Promise.all([
        api
          .request<UserRecord[]>('GET', api.user(), {
            query: { ...params, sort: JSON.stringify({ [sort.field]: sort.dir }), limit: PAGE, skip },
            signal,
          })
          .then((a) => a.body),
        api
          .request<{ count: number }>('GET', `${api.user()}/_count`, { query: params, signal })
          .then((a) => a.body.count),
      ]),
    [api, search, status, skip, sort.field, sort.dir],
  );
  const [users, total] = list.value ?? [[], null];

  const act = async (user: UserRecord, what: 'disable' | 'restore') => {
    setBusy(user._id);
    try {
      if (what === 'disable') await api.del(api.user(user._id), { soft: 'true' });
      else await api.post(`${api.user(user._id)}/_restore`, undefined);
      toast(
        what === 'disable'
          ? `${displayUser(user)} is disabled; their sessions ended.`
          : `${displayUser(user)} is active again.`,
      );
      list.reload();
    } catch (error) {
      toast(describeError(error), 'error');
    } finally {
      setBusy(null);
    }
  };

  const sortBy = (field: SortField) => {
    setSort((s) => (s.field === field ? { field, dir: s.dir === 1 ? -1 : 1 } : { field, dir: 1 }));
    setSkip(0);
  };
  // Stable, so an open dialog keeps its focus when the list behind it reloads.
  const closed = useCallback(() => setDialog(null), []);
  const changed = () => {
    setDialog(null);
    list.reload();
  };

  return (
    <section aria-labelledby="users-title" class="users-view">
      <div class="toolbar titlebar">
        <h1 id="users-title">Users</h1>
        {total !== null && (
          <span class="badge" data-testid="user-total">
            {total.toLocaleString()} {total === 1 ? 'user' : 'users'}
          </span>
        )}
        <span class="spacer" />
        <button class="primary" onClick={() => setDialog({ kind: 'create' })}>
          New user
        </button>
      </div>
      <div class="toolbar">
        <input
          type="search"
          class="users-search"
          aria-label="Search users"
          placeholder="Search by username or email prefix…"
          value={searchInput}
          onInput={(e) => setSearchInput((e.target as HTMLInputElement).value)}
        />
        <select
          aria-label="Status"
          value={status}
          onChange={(e) => {
            setStatus((e.target as HTMLSelectElement).value as StatusFilter);
            setSkip(0);
          }}
        >
          <option value="all">All users</option>
          <option value="active">Active only</option>
          <option value="disabled">Disabled only</option>
        </select>
        <button onClick={list.reload} aria-label="Refresh users">
          ↻ Refresh
        </button>
        {list.loading && <span class="muted">Loading…</span>}
      </div>
      <ErrorBox error={list.error} />
      <div class="table-wrap">
        <table class="grid" data-testid="users-table">
          <thead>
            <tr>
              {COLUMNS.map((c) =>
                c.field ? (
                  <th
                    key={c.label}
                    class="sortable"
                    aria-sort={sort.field === c.field ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                  >
                    <button class="link th-button" onClick={() => sortBy(c.field as SortField)}>
                      {c.label}
                      {sort.field === c.field ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                    </button>
                  </th>
                ) : (
                  <th key={c.label}>{c.label}</th>
                ),
              )}
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => {
              const disabled = isDisabled(user);
              const name = displayUser(user);
              return (
                <tr key={user._id} data-testid="user-row" class={disabled ? 'user-disabled' : ''}>
                  <td>
                    <button
                      class="link"
                      onClick={() => setDialog({ kind: 'detail', user })}
                      aria-label={`Open ${name}`}
                    >
                      {name}
                    </button>
                  </td>
                  <td>{typeof user.email === 'string' ? user.email : <span class="muted">—</span>}</td>
                  <td class="id-cell" title={user._id}>
                    <code>{user._id}</code>
                  </td>
                  <td title={user._kmd?.ect}>{shortDate(user._kmd?.ect)}</td>
                  <td title={user._kmd?.lmt}>{shortDate(user._kmd?.lmt)}</td>
                  <td>
                    {disabled ? (
                      <span class="badge disabled" title={`Since ${formatDate(user._kmd?.status?.lastChange)}`}>
                        disabled
                      </span>
                    ) : (
                      <span class="badge public">active</span>
                    )}
                  </td>
                  <td class="row-actions">
                    {!disabled && (
                      <button
                        onClick={() => setDialog({ kind: 'password', user })}
                        aria-label={`Set a new password for ${name}`}
                      >
                        Password
                      </button>
                    )}
                    {disabled ? (
                      <button
                        disabled={busy === user._id}
                        onClick={() => act(user, 'restore')}
                        aria-label={`Restore ${name}`}
                      >
                        Restore
                      </button>
                    ) : (
                      <button
                        disabled={busy === user._id}
                        onClick={() => act(user, 'disable')}
                        aria-label={`Disable ${name}`}
                      >
                        Disable
                      </button>
                    )}
                    <button
                      class="danger"
                      onClick={() => setDialog({ kind: 'delete', user })}
                      aria-label={`Delete ${name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
            {!list.loading && !list.error && users.length === 0 && (
              <tr>
                <td colSpan={7} class="empty-cell">
                  {search
                    ? `No user's username or email starts with “${search}”.`
                    : 'No users yet. Create one, or sign one up from an app.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager skip={skip} limit={PAGE} total={total} shown={users.length} onSkip={setSkip} />
      {dialog?.kind === 'create' && <CreateUser api={api} onClose={closed} onCreated={changed} />}
      {dialog?.kind === 'password' && <SetPassword api={api} user={dialog.user} onClose={closed} onDone={changed} />}
      {dialog?.kind === 'delete' && <ConfirmDelete api={api} user={dialog.user} onClose={closed} onDeleted={changed} />}
      {dialog?.kind === 'detail' && (
        <UserDetail
          api={api}
          user={dialog.user}
          onClose={closed}
          onSaved={list.reload}
          onPassword={() => setDialog({ kind: 'password', user: dialog.user })}
        />
      )}
    </section>
  );
}
