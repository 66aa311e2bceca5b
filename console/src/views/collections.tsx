/**
 * Collections: the app's collections (entity count, permission level, external and hook
 * markers) beside the selected one's entities. A collection exists once an entity is saved, so
 * "New collection" opens an empty table under the typed name, ready for its first entity.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, useAsync } from '../components/common';
import { href, navigate } from '../router';
import { EntityBrowser } from './collections-table';

interface CollectionSummary {
  name: string;
  permissions: string;
  count: number | null;
  deltaSet: boolean;
  indexes: string[];
  external: boolean;
  hooks: string[];
}

const PERMISSION_BADGE: Record<string, string> = {
  full: 'public',
  shared: '',
  'read-only': 'pending',
  private: 'private',
};
/** Kinvey's collection names: letters, digits, `-` and `_`, not starting with `_`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function Collections({ api, rest }: { api: Api; rest: string[] }) {
  const selected = rest[0];
  const [unlisted, setUnlisted] = useState<string | undefined>(undefined);
  const list = useAsync(() => api.get<CollectionSummary[]>(api.admin('collections')), [api, unlisted]);
  const collections = list.value ?? [];
  const known = selected === undefined || collections.some((c) => c.name === selected);
  // A link to a collection the last listing did not have (made since, by a script): list again, once.
  useEffect(() => {
    if (list.value && !known) setUnlisted(selected);
  }, [list.value, known, selected]);

  return (
    <section aria-labelledby="collections-title" class="collections">
      <h1 id="collections-title">Collections</h1>
      <ErrorBox error={list.error} />
      <div class="collections-layout">
        <nav class="panel collection-list" aria-label="Collections">
          <NewCollection onCreate={(name) => navigate(href(api.appKey, 'collections', name))} />
          {list.loading && !list.value && <p class="muted pad">Loading…</p>}
          {list.value && collections.length === 0 && <p class="muted pad">No collections yet.</p>}
          <ul>
            {collections.map((c) => (
              <li key={c.name}>
                <a
                  href={href(api.appKey, 'collections', c.name)}
                  class={c.name === selected ? 'active' : undefined}
                  aria-current={c.name === selected ? 'page' : undefined}
                  data-testid={`collection-row-${c.name}`}
                >
                  <span class="collection-name">{c.name}</span>
                  <span class="collection-meta">
                    <span class="count" data-testid="collection-count">
                      {c.count === null ? 'external' : c.count.toLocaleString()}
                    </span>
                    <span
                      class={`badge ${PERMISSION_BADGE[c.permissions] ?? ''}`}
                      title="Permission level"
                      data-testid="collection-permissions"
                    >
                      {c.permissions}
                    </span>
                    {c.external && (
                      <span class="badge marker" title="External collection, served by a Flex service">
                        ext
                      </span>
                    )}
                    {c.hooks.length > 0 && (
                      <span class="badge marker" title={`Hooks: ${c.hooks.join(', ')}`}>
                        ƒ {c.hooks.length}
                      </span>
                    )}
                  </span>
                </a>
              </li>
            ))}
            {selected !== undefined && list.value && !known && (
              <li>
                <a
                  href={href(api.appKey, 'collections', selected)}
                  class="active"
                  aria-current="page"
                  data-testid={`collection-row-${selected}`}
                >
                  <span class="collection-name">{selected}</span>
                  <span class="collection-meta">
                    <span class="badge pending">new</span>
                  </span>
                </a>
              </li>
            )}
          </ul>
        </nav>
        <div class="collection-main">
          {selected === undefined ? (
            <div class="panel empty-state">
              <p>Pick a collection on the left, or create one.</p>
            </div>
          ) : (
            <EntityBrowser
              key={selected}
              api={api}
              collection={selected}
              onChanged={list.reload}
              onDeleted={() => {
                // Back to the list first, so the reloaded listing no longer has a selected collection to miss.
                navigate(href(api.appKey, 'collections'));
                list.reload();
              }}
            />
          )}
        </div>
      </div>
    </section>
  );
}

function NewCollection({ onCreate }: { onCreate: (name: string) => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const valid = NAME.test(name);
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  if (!open)
    return (
      <button class="new-collection" onClick={() => setOpen(true)}>
        + New collection
      </button>
    );
  return (
    <form
      class="new-collection-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!valid) return;
        onCreate(name);
        setName('');
        setOpen(false);
      }}
    >
      <input
        aria-label="New collection name"
        placeholder="collection name"
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
        onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
        ref={input}
      />
      {name && !valid && <span class="muted small">Letters, digits, - and _; not starting with _.</span>}
      <div class="row">
        <button type="submit" class="primary" disabled={!valid}>
          Open
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <span class="muted small">It is created when its first entity is saved.</span>
    </form>
  );
}
