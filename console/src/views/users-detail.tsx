/** One user: the record as the API gives it to master (no credential is ever in it), its groups, and an Edit mode. */
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Modal, formatDate, useAsync } from '../components/common';
import { href } from '../router';
import { UserJsonEditor } from './users-edit';
import { displayUser, groupsOf, isDisabled, type UserRecord } from './users-shared';

export function UserDetail({
  api,
  user: shown,
  onClose,
  onPassword,
  onSaved,
}: {
  api: Api;
  user: UserRecord;
  onClose: () => void;
  onPassword: () => void;
  /** Told after an edit was saved (the dialog stays open, showing the saved record). */
  onSaved?: (user: UserRecord) => void;
}) {
  const [user, setUser] = useState(shown);
  const [editing, setEditing] = useState(false);
  const groups = useAsync(() => groupsOf(api, user._id), [api, user._id]);
  const disabled = isDisabled(user);
  return (
    <Modal title={`User ${displayUser(user)}`} onClose={onClose} wide>
      <div class="user-detail" data-testid="user-detail">
        <dl>
          <dt>_id</dt>
          <dd>
            <code>{user._id}</code>
          </dd>
          <dt>Status</dt>
          <dd>
            {disabled ? (
              <span class="badge disabled">disabled since {formatDate(user._kmd?.status?.lastChange)}</span>
            ) : (
              <span class="badge public">active</span>
            )}
          </dd>
          <dt>Created</dt>
          <dd>{formatDate(user._kmd?.ect)}</dd>
          <dt>Last modified</dt>
          <dd>{formatDate(user._kmd?.lmt)}</dd>
          <dt>Last login</dt>
          <dd>{formatDate(user._kmd?.llt)}</dd>
          <dt>Groups</dt>
          <dd data-testid="user-groups">
            {groups.loading && !groups.value ? (
              '…'
            ) : (groups.value ?? []).length === 0 ? (
              <span class="muted">none</span>
            ) : (
              <span class="row">
                {(groups.value ?? []).map((g) => (
                  <a key={g._id} class="badge" href={href(api.appKey, 'groups', g._id)}>
                    {g._id}
                    {g.users?.all ? ' (all users)' : ''}
                  </a>
                ))}
              </span>
            )}
            <ErrorBox error={groups.error} />
          </dd>
        </dl>
        <h3>Record</h3>
        {editing ? (
          <UserJsonEditor
            api={api}
            user={user}
            onCancel={() => setEditing(false)}
            onSaved={(saved) => {
              setUser(saved);
              setEditing(false);
              onSaved?.(saved);
            }}
          />
        ) : (
          <>
            <pre class="json-view" aria-label="User JSON">
              {JSON.stringify(user, null, 2)}
            </pre>
            <p class="muted small">
              Passwords and session tokens are never part of a user record; the server keeps only a password hash, out
              of reach of the API.
            </p>
            {!disabled && (
              <div class="row">
                <span class="spacer" />
                <button onClick={onPassword}>Set a new password…</button>
                <button class="primary" onClick={() => setEditing(true)}>
                  Edit
                </button>
              </div>
            )}
          </>
        )}
      </div>
    </Modal>
  );
}
