/** Creates or edits one group: its _id, its members (found by username or _id), all users, nested groups. */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ApiError } from '../api';
import { ErrorBox, Modal, toast, useAsync } from '../components/common';
import { prefixPattern, type GroupRecord, type UserRecord } from './users-shared';

interface Member {
  _id: string;
  username?: string;
  missing?: boolean;
}

const ref = (collection: 'user' | 'group', _id: string) => ({ _type: 'KinveyRef', _collection: collection, _id });

/** The users with these ids (disabled ones too), in one query. */
async function usersById(api: Api, ids: string[]): Promise<Map<string, UserRecord>> {
  if (ids.length === 0) return new Map();
  const users = await api.get<UserRecord[]>(api.user(), {
    query: JSON.stringify({ _id: { $in: ids } }),
    fields: 'username',
    includeDisabled: 'true',
    limit: ids.length,
  });
  return new Map(users.map((u) => [u._id, u]));
}

/** One user by exact username or _id, or null. */
async function findUser(api: Api, text: string): Promise<UserRecord | null> {
  const users = await api.get<UserRecord[]>(api.user(), {
    query: JSON.stringify({ $or: [{ username: text }, { _id: text }] }),
    fields: 'username',
    includeDisabled: 'true',
    limit: 2,
  });
  return users.find((u) => u.username === text) ?? users[0] ?? null;
}

export function GroupEditor({
  api,
  id,
  onClose,
  onSaved,
}: {
  api: Api;
  id?: string;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [groupId, setGroupId] = useState('');
  const [all, setAll] = useState(false);
  const [members, setMembers] = useState<Member[]>([]);
  const [nested, setNested] = useState<string[]>([]);
  const [extra, setExtra] = useState<Record<string, unknown>>({});
  const [memberInput, setMemberInput] = useState('');
  const [groupInput, setGroupInput] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const existing = useAsync(async () => {
    if (id === undefined) return null;
    const group = await api.get<GroupRecord>(api.group(id));
    const ids = (group.users?.list ?? []).map((r) => r._id);
    const known = await usersById(api, ids);
    return {
      group,
      members: ids.map((_id) => ({ _id, username: known.get(_id)?.username, missing: !known.has(_id) })),
    };
  }, [api, id]);
  useEffect(() => {
    const value = existing.value;
    if (!value) return;
    const { _id: _i, _kmd: _k, _acl: _a, users: _u, groups: _g, ...fields } = value.group;
    setExtra(fields);
    setAll(value.group.users?.all === true);
    setMembers(value.members);
    setNested((value.group.groups ?? []).map((g) => g._id));
  }, [existing.value]);

  const text = memberInput.trim();
  const suggestions = useAsync(
    (signal) =>
      text
        ? api
            .request<UserRecord[]>('GET', api.user(), {
              query: {
                query: JSON.stringify({ username: { $regex: prefixPattern(text), $options: 'i' } }),
                fields: 'username',
                limit: 8,
                sort: '{"username":1}',
              },
              signal,
            })
            .then((a) => a.body)
        : Promise.resolve([]),
    [api, text],
  );

  const addMember = async (event: Event) => {
    event.preventDefault();
    if (!text) return;
    setError(null);
    try {
      const user = await findUser(api, text);
      if (!user) throw new ApiError(404, 'UserNotFound', `No user has the username or _id “${text}”.`, '');
      if (!members.some((m) => m._id === user._id))
        setMembers((list) => [...list, { _id: user._id, username: user.username }]);
      setMemberInput('');
    } catch (failure) {
      setError(failure);
    }
  };

  const addGroup = async (event: Event) => {
    event.preventDefault();
    const nestedId = groupInput.trim();
    if (!nestedId) return;
    setError(null);
    try {
      await api.get(api.group(nestedId));
      if (!nested.includes(nestedId)) setNested((list) => [...list, nestedId]);
      setGroupInput('');
    } catch (failure) {
      setError(failure);
    }
  };

  const save = async () => {
    setSaving(true);
    setError(null);
    const body = {
      ...extra,
      users: { all, list: members.map((m) => ref('user', m._id)) },
      groups: nested.map((g) => ref('group', g)),
    };
    try {
      if (id === undefined) await api.post(api.group(), groupId.trim() ? { _id: groupId.trim(), ...body } : body);
      else await api.put(api.group(id), body);
      toast(id === undefined ? `Group ${groupId.trim() || ''} created.` : `Group ${id} saved.`);
      onSaved();
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  };

  return (
    <Modal title={id === undefined ? 'New group' : `Group ${id}`} onClose={onClose} wide>
      <ErrorBox error={existing.error} />
      {id === undefined && (
        <label>
          Group _id{' '}
          <span class="muted small">
            (optional: the server assigns one; this id is what <code>_acl.groups</code> lists)
          </span>
          <input
            value={groupId}
            aria-label="Group _id"
            placeholder="editors"
            onInput={(e) => setGroupId((e.target as HTMLInputElement).value)}
          />
        </label>
      )}
      <label class="checkbox">
        <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> All
        users of the app are members (<code>users.all</code>)
      </label>
      <div>
        <h3>Members ({members.length})</h3>
        <ul class="member-chips" data-testid="group-members">
          {members.map((m) => (
            <li key={m._id} class={m.missing ? 'member-chip missing' : 'member-chip'}>
              <span>
                {m.username ?? <code>{m._id}</code>}
                {m.missing && <span class="muted"> (no such user)</span>}
              </span>
              <button
                class="icon"
                aria-label={`Remove ${m.username ?? m._id}`}
                onClick={() => setMembers((list) => list.filter((x) => x._id !== m._id))}
              >
                ×
              </button>
            </li>
          ))}
          {members.length === 0 && <li class="muted">No members listed.</li>}
        </ul>
        <form class="row" onSubmit={addMember}>
          <input
            list="group-user-suggestions"
            value={memberInput}
            aria-label="Add member by username or _id"
            placeholder="username or _id"
            onInput={(e) => setMemberInput((e.target as HTMLInputElement).value)}
          />
          <datalist id="group-user-suggestions">
            {(suggestions.value ?? []).map((u) => (
              <option key={u._id} value={u.username ?? u._id} />
            ))}
          </datalist>
          <button type="submit" disabled={!text}>
            Add member
          </button>
        </form>
      </div>
      <div>
        <h3>Nested groups ({nested.length})</h3>
        <p class="muted small">Members of these groups count as members of this one.</p>
        <ul class="member-chips">
          {nested.map((g) => (
            <li key={g} class="member-chip">
              <code>{g}</code>
              <button
                class="icon"
                aria-label={`Remove group ${g}`}
                onClick={() => setNested((list) => list.filter((x) => x !== g))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        <form class="row" onSubmit={addGroup}>
          <input
            value={groupInput}
            aria-label="Add nested group by _id"
            placeholder="group _id"
            onInput={(e) => setGroupInput((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={!groupInput.trim()}>
            Add group
          </button>
        </form>
      </div>
      <ErrorBox error={error} />
      <div class="row">
        <span class="spacer" />
        <button onClick={onClose}>Cancel</button>
        <button class="primary" disabled={saving || existing.loading} onClick={save}>
          {saving ? 'Saving…' : id === undefined ? 'Create group' : 'Save group'}
        </button>
      </div>
    </Modal>
  );
}
