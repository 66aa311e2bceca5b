/** Sign in with an app key and its master secret, checked against the server before it is kept. */
import { useState } from 'preact/hooks';
import { Api, ApiError } from '../api';
import { ErrorBox } from '../components/common';
import { href } from '../router';
import { withApp, type SignedInApp } from '../session';

interface Handshake {
  appName?: string;
  kinvey?: string;
}

/** `appKey` prefills the form: a link such as `/console/#/<appKey>` (the start-up output prints one) opens it ready for the secret. */
export function SignIn({
  apps,
  appKey: suggested,
  onSignedIn,
}: {
  apps: SignedInApp[];
  appKey: string;
  onSignedIn: (apps: SignedInApp[], app: SignedInApp) => void;
}) {
  const [appKey, setAppKey] = useState(suggested);
  const [masterSecret, setMasterSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const credentials = { appKey: appKey.trim(), masterSecret: masterSecret.trim() };
    const api = new Api(credentials);
    try {
      const hello = await api.get<Handshake>(`/appdata/${encodeURIComponent(credentials.appKey)}`);
      try {
        // The handshake also accepts the app secret: a master-only call tells the two apart.
        await api.get(api.admin('server'));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          throw new ApiError(
            401,
            'InsufficientCredentials',
            'These credentials are valid but are not the master secret; the console needs the master secret.',
            '',
          );
        }
        throw e;
      }
      const app: SignedInApp = { ...credentials, name: hello.appName ?? credentials.appKey };
      onSignedIn(withApp(apps, app), app);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>kinbase console</h1>
        <p class="muted">Sign in with an app key and its master secret. The secret stays in this tab only.</p>
        <label>
          App key
          <input
            name="appKey"
            autocomplete="username"
            required
            value={appKey}
            onInput={(e) => setAppKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Master secret
          <input
            name="masterSecret"
            type="password"
            autocomplete="current-password"
            required
            value={masterSecret}
            onInput={(e) => setMasterSecret((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {apps.length > 0 && (
          <div class="known-apps">
            <p class="muted">Signed in in this tab:</p>
            <ul>
              {apps.map((a) => (
                <li key={a.appKey}>
                  <a href={href(a.appKey, 'overview')}>
                    {a.name} ({a.appKey})
                  </a>
                </li>
              ))}
            </ul>
          </div>
        )}
      </form>
    </div>
  );
}
