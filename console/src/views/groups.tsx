/** Groups: the app's user groups (master list), their members and nested groups; create, edit, delete. */
import { useCallback, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Modal, Pager, toast, useAsync } from '../components/common';
import { href, navigate, useRoute } from '../router';
import { GroupEditor } from './groups-editor';
import { shortDate, type GroupRecord } from './users-shared';

const PAGE = 50;

export function Groups({ api }: { api: Api }) {
  const route = useRoute();
  const [skip, setSkip] = useState(0);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<GroupRecord | null>(null);
  const list = useAsync(
    (signal) =>
      api.request<GroupRecord[]>('GET', api.group(), { query: { limit: PAGE, skip }, signal }).then((a) => a.body),
    [api, skip],
  );
  const groups = list.value ?? [];
  // `#/<app>/groups/<id>` opens that group's editor, so a user's group badge links straight to it.
  const editing = route.rest[0];
  const closeEditor = useCallback(() => navigate(href(api.appKey, 'groups')), [api]);
  const saved = () => {
    setCreating(false);
    closeEditor();
    list.reload();
  };

  return (
    <section aria-labelledby="groups-title">
      <div class="toolbar titlebar">
        <h1 id="groups-title">Groups</h1>
        <span class="spacer" />
        <button onClick={list.reload} aria-label="Refresh groups">
          ↻ Refresh
        </button>
        <button class="primary" onClick={() => setCreating(true)}>
          New group
        </button>
      </div>
      <p class="muted intro">
        A group names users; an entity&apos;s <code>_acl.groups.r</code> / <code>_acl.groups.w</code> lists group ids to
        let their members read or write it. A group may include other groups.
      </p>
      <ErrorBox error={list.error} />
      <div class="table-wrap">
        <table class="grid" data-testid="groups-table">
          <thead>
            <tr>
              <th>_id</th>
              <th>Members</th>
              <th>Nested groups</th>
              <th>Created</th>
              <th>Last modified</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => {
              const members = group.users?.list?.length ?? 0;
              const nested = group.groups ?? [];
              return (
                <tr key={group._id} data-testid="group-row">
                  <td>
                    <a href={href(api.appKey, 'groups', group._id)}>
                      <code>{group._id}</code>
                    </a>
                  </td>
                  <td>
                    {group.users?.all ? (
                      <span class="badge public">all users</span>
                    ) : (
                      `${members} ${members === 1 ? 'user' : 'users'}`
                    )}
                  </td>
                  <td>
                    {nested.length === 0 ? (
                      <span class="muted">—</span>
                    ) : (
                      nested.map((g) => (
                        <span key={g._id} class="badge group-chip">
                          {g._id}
                        </span>
                      ))
                    )}
                  </td>
                  <td title={group._kmd?.ect}>{shortDate(group._kmd?.ect)}</td>
                  <td title={group._kmd?.lmt}>{shortDate(group._kmd?.lmt)}</td>
                  <td class="row-actions">
                    <button
                      onClick={() => navigate(href(api.appKey, 'groups', group._id))}
                      aria-label={`Edit group ${group._id}`}
                    >
                      Edit
                    </button>
                    <button class="danger" onClick={() => setDeleting(group)} aria-label={`Delete group ${group._id}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
            {!list.loading && !list.error && groups.length === 0 && (
              <tr>
                <td colSpan={6} class="empty-cell">
                  {skip ? 'No more groups.' : 'No groups yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager skip={skip} limit={PAGE} total={null} shown={groups.length} onSkip={setSkip} />
      {creating && <GroupEditor api={api} onClose={() => setCreating(false)} onSaved={saved} />}
      {editing !== undefined && !creating && (
        <GroupEditor api={api} id={editing} onClose={closeEditor} onSaved={saved} />
      )}
      {deleting && (
        <ConfirmDeleteGroup
          api={api}
          group={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDeleting(null);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function ConfirmDeleteGroup({
  api,
  group,
  onClose,
  onDeleted,
}: {
  api: Api;
  group: GroupRecord;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const remove = async () => {
    setSaving(true);
    try {
      await api.del(api.group(group._id));
      toast(`Group ${group._id} deleted.`);
      onDeleted();
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  };
  return (
    <Modal title={`Delete group ${group._id}?`} onClose={onClose}>
      <p>
        Its members lose what the group gave them. Entities whose <code>_acl.groups</code> name <code>{group._id}</code>{' '}
        keep the id: a new group with the same id would get that access again.
      </p>
      <ErrorBox error={error} />
      <div class="row">
        <span class="spacer" />
        <button onClick={onClose}>Cancel</button>
        <button class="danger" disabled={saving} onClick={remove}>
          {saving ? 'Deleting…' : 'Delete group'}
        </button>
      </div>
    </Modal>
  );
}
