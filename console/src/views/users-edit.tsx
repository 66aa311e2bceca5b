/**
 * Editing a user's record as JSON, as master: `PUT /user/:appKey/:id` replaces the user's custom
 * fields with the typed ones. The server keeps `username` when it is left out and always keeps
 * `_acl.creator`; `_kmd` is the server's and is never sent. A password is never part of the body:
 * it is set on purpose with "Set a new password…", which also ends the user's sessions.
 */
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, toast } from '../components/common';
import { formatJson, JsonTextarea, parseJsonObject } from '../components/json-editor';
import { displayUser, type UserRecord } from './users-shared';

/** The record as it is edited: everything the API gave master but `_kmd`. */
export function editableText(user: UserRecord): string {
  const { _kmd: _kmdIgnored, ...fields } = user;
  return JSON.stringify(fields, null, 2);
}

export function UserJsonEditor({
  api,
  user,
  onCancel,
  onSaved,
}: {
  api: Api;
  user: UserRecord;
  onCancel: () => void;
  onSaved: (user: UserRecord) => void;
}) {
  const [text, setText] = useState(() => editableText(user));
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const save = async () => {
    const parsed = parseJsonObject(text, 'A user');
    if (parsed.problem === undefined && Object.hasOwn(parsed.value, 'password')) {
      setProblem('A password is not a field of the record: set it with “Set a new password…”.');
      return;
    }
    setProblem(parsed.problem ?? null);
    if (parsed.problem !== undefined) return;
    const { _kmd: _kmdIgnored, ...body } = parsed.value;
    setBusy(true);
    setError(null);
    try {
      const saved = await api.put<UserRecord>(api.user(user._id), body);
      toast(`${displayUser(saved)} saved`);
      onSaved(saved);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const format = () => {
    const formatted = formatJson(text);
    if (formatted.text !== undefined) setText(formatted.text);
    setProblem(formatted.problem ?? null);
  };

  return (
    <div class="user-edit" data-testid="user-edit">
      <JsonTextarea
        label="User JSON to save"
        testId="user-json"
        value={text}
        onChange={setText}
        onSave={() => void save()}
        autoFocus
      />
      <p class="muted hint">
        Saving replaces the user's fields: a field left out is removed. The server keeps <code>username</code> if it is
        left out and always keeps <code>_acl.creator</code>; <code>_kmd</code> is the server's. Ctrl+S saves.
      </p>
      {problem && (
        <div class="error" role="alert" data-testid="user-edit-problem">
          {problem}
        </div>
      )}
      <ErrorBox error={error} />
      <div class="row">
        <span class="spacer" />
        <button onClick={format} disabled={busy}>
          Format
        </button>
        <button onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button class="primary" onClick={() => void save()} disabled={busy}>
          Save user
        </button>
      </div>
    </div>
  );
}
