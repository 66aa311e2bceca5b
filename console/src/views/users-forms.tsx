/** The Users dialogs that change an account: create, set a new password, delete for good. */
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Modal, toast } from '../components/common';
import { displayUser, setPassword, type UserRecord } from './users-shared';

/** A random password the browser makes (crypto.getRandomValues): 16 characters from 56. */
function randomPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function PasswordInput({ label, value, onInput }: { label: string; value: string; onInput: (value: string) => void }) {
  const [shown, setShown] = useState(false);
  return (
    <label>
      {label}
      <span class="row password-row">
        {shown ? (
          <input
            type="text"
            value={value}
            required
            autoComplete="off"
            aria-label={label}
            onInput={(e) => onInput((e.target as HTMLInputElement).value)}
          />
        ) : (
          <input
            type="password"
            value={value}
            required
            autoComplete="new-password"
            aria-label={label}
            onInput={(e) => onInput((e.target as HTMLInputElement).value)}
          />
        )}
        <button
          type="button"
          onClick={() => setShown((s) => !s)}
          aria-label={shown ? 'Hide password' : 'Show password'}
        >
          {shown ? 'Hide' : 'Show'}
        </button>
        <button
          type="button"
          onClick={() => {
            onInput(randomPassword());
            setShown(true);
          }}
        >
          Generate
        </button>
      </span>
    </label>
  );
}

export function CreateUser({ api, onClose, onCreated }: { api: Api; onClose: () => void; onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPasswordText] = useState('');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const body: Record<string, string> = { username: username.trim(), password };
      if (email.trim()) body.email = email.trim();
      await api.post(api.user(), body);
      toast(`User ${body.username} created.`);
      onCreated();
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  };

  return (
    <Modal title="New user" onClose={onClose}>
      <form class="form-stack" onSubmit={submit}>
        <label>
          Username
          <input
            value={username}
            required
            autoComplete="off"
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          />
        </label>
        <PasswordInput label="Password" value={password} onInput={setPasswordText} />
        <label>
          Email <span class="muted">(optional)</span>
          <input
            type="email"
            value={email}
            aria-label="Email"
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        </label>
        <p class="muted small">
          Created with the master secret through <code>POST /user/{api.appKey}</code>, as an app signup would be; the
          user&apos;s <code>user</code> collection hooks run.
        </p>
        <ErrorBox error={error} />
        <div class="row">
          <span class="spacer" />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={saving || !username.trim() || !password}>
            {saving ? 'Creating…' : 'Create user'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function SetPassword({
  api,
  user,
  onClose,
  onDone,
}: {
  api: Api;
  user: UserRecord;
  onClose: () => void;
  onDone: () => void;
}) {
  const [password, setPasswordText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      await setPassword(api, user._id, password);
      toast(`New password set for ${displayUser(user)}; their sessions ended.`);
      onDone();
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  };

  return (
    <Modal title={`Set a new password for ${displayUser(user)}`} onClose={onClose}>
      <form class="form-stack" onSubmit={submit}>
        <PasswordInput label="New password" value={password} onInput={setPasswordText} />
        <p class="muted small">
          Every session of this user ends: they log in again with the new password. Tell them the password yourself;
          kinbase sends no email.
        </p>
        <ErrorBox error={error} />
        <div class="row">
          <span class="spacer" />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={saving || !password}>
            {saving ? 'Saving…' : 'Set password'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function ConfirmDelete({
  api,
  user,
  onClose,
  onDeleted,
}: {
  api: Api;
  user: UserRecord;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const name = displayUser(user);

  const remove = async () => {
    setSaving(true);
    try {
      await api.del(api.user(user._id), { hard: 'true' });
      toast(`${name} deleted.`);
      onDeleted();
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  };

  return (
    <Modal title={`Delete ${name}?`} onClose={onClose}>
      <p>
        This removes the account for good and frees the username <strong>{name}</strong>. To keep the account and only
        block logins, disable it instead.
      </p>
      <ErrorBox error={error} />
      <div class="row">
        <span class="spacer" />
        <button onClick={onClose}>Cancel</button>
        <button class="danger" disabled={saving} onClick={remove}>
          {saving ? 'Deleting…' : 'Delete for good'}
        </button>
      </div>
    </Modal>
  );
}
