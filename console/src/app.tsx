/** The console's frame: sign-in, the app switcher, the section navigation and the current view. */
import { useMemo, useState } from 'preact/hooks';
import { Api } from './api';
import { Toasts } from './components/common';
import { href, navigate, SECTIONS, useRoute, type Route } from './router';
import { loadApps, saveApps, type SignedInApp } from './session';
import { SignIn } from './views/sign-in';
import { Overview } from './views/overview';
import { Collections } from './views/collections';
import { Files } from './views/files';
import { Users } from './views/users';
import { Groups } from './views/groups';
import { BusinessLogic } from './views/business-logic';

export function App() {
  const [apps, setApps] = useState<SignedInApp[]>(loadApps);
  const route = useRoute();
  const current = apps.find((a) => a.appKey === route.appKey) ?? null;
  const api = useMemo(() => (current ? new Api(current) : null), [current]);

  const update = (next: SignedInApp[]) => {
    saveApps(next);
    setApps(next);
  };

  if (!current || !api) {
    return (
      <>
        <SignIn
          apps={apps}
          appKey={route.appKey ?? ''}
          onSignedIn={(next, app) => {
            update(next);
            navigate(href(app.appKey, 'overview'));
          }}
        />
        <Toasts />
      </>
    );
  }

  const signOut = () => {
    const rest = apps.filter((a) => a.appKey !== current.appKey);
    update(rest);
    navigate(rest[0] ? href(rest[0].appKey, 'overview') : '#/');
  };

  return (
    <div class="layout">
      <nav class="sidebar" aria-label="Sections">
        <div class="brand">kinbase</div>
        <label class="switcher">
          <span>App</span>
          <select
            data-testid="app-switcher"
            value={current.appKey}
            onChange={(e) => {
              const key = (e.target as HTMLSelectElement).value;
              navigate(key === '+' ? '#/' : href(key, route.section));
            }}
          >
            {apps.map((a) => (
              <option key={a.appKey} value={a.appKey}>
                {a.name} ({a.appKey})
              </option>
            ))}
            <option value="+">+ Sign in to another app…</option>
          </select>
        </label>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.id}>
              <a
                href={href(current.appKey, s.id)}
                class={route.section === s.id ? 'active' : ''}
                aria-current={route.section === s.id ? 'page' : undefined}
              >
                {s.label}
              </a>
            </li>
          ))}
        </ul>
        <button class="link signout" onClick={signOut}>
          Sign out of {current.name}
        </button>
      </nav>
      <main class="content">
        <View api={api} route={route} />
      </main>
      <Toasts />
    </div>
  );
}

function View({ api, route }: { api: Api; route: Route }) {
  switch (route.section) {
    case 'overview':
      return <Overview api={api} />;
    case 'collections':
      return <Collections api={api} rest={route.rest} />;
    case 'files':
      return <Files api={api} />;
    case 'users':
      return <Users api={api} />;
    case 'groups':
      return <Groups api={api} />;
    case 'business-logic':
      return <BusinessLogic api={api} />;
  }
}
