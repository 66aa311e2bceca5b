/**
 * One collection's entities (rendered with `key={collection}`, so another collection starts
 * with no filter, the default order and the first page): a filter box, server-side sort and paging (one page of 50 is ever
 * fetched and rendered, so 10,000 entities cost what 50 do), the JSON and ACL editors, and
 * "Delete collection…".
 */
import { useCallback, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Pager, useAsync } from '../components/common';
import { Cell, columnsOf, sortFieldOf, type Entity } from '../collections/cells';
import { QueryBox } from './collections-query';
import { EntityEditor } from './collections-editor';
import { AclEditor } from './collections-acl';
import { DeleteCollection } from './collections-delete';

export const PAGE_SIZE = 50;

interface Sort {
  field: string;
  direction: 1 | -1;
}

interface Page {
  rows: Entity[];
  total: number | null;
}

type Editing =
  | { kind: 'new' }
  | { kind: 'edit'; entity: Entity }
  | { kind: 'acl'; entity: Entity }
  | { kind: 'delete-collection' }
  | null;

export function EntityBrowser({
  api,
  collection,
  onChanged,
  onDeleted,
}: {
  api: Api;
  collection: string;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const [filter, setFilter] = useState<Record<string, unknown>>({});
  const [sort, setSort] = useState<Sort | null>(null);
  const [skip, setSkip] = useState(0);
  const [editing, setEditing] = useState<Editing>(null);

  // Stable, so an open dialog does not re-run its focus effect when the table reloads.
  const close = useCallback(() => setEditing(null), []);

  const filterJson = JSON.stringify(filter);
  const page = useAsync<Page>(
    async (signal) => {
      const query = {
        query: filterJson,
        sort: sort ? JSON.stringify({ [sort.field]: sort.direction }) : undefined,
        limit: PAGE_SIZE,
        skip,
      };
      const [list, count] = await Promise.all([
        api.readWithThumbs<Entity[]>(api.appdata(collection), { query, signal }),
        api
          .request<{ count: number }>('GET', `${api.appdata(collection)}/_count`, {
            query: { query: filterJson },
            signal,
          })
          .then(
            (a) => a.body.count,
            (error: unknown) => (error instanceof DOMException ? Promise.reject(error) : null),
          ),
      ]);
      return { rows: Array.isArray(list.body) ? list.body : [], total: count };
    },
    [api, collection, filterJson, sort?.field, sort?.direction, skip],
  );

  const rows = page.value?.rows ?? [];
  const total = page.value?.total ?? null;
  const columns = columnsOf(rows);

  const applyFilter = (next: Record<string, unknown>) => {
    setFilter(next);
    setSkip(0);
  };
  const toggleSort = (column: string) => {
    const field = sortFieldOf(column);
    if (!field) return;
    setSort((s) =>
      s?.field === field ? (s.direction === 1 ? { field, direction: -1 } : null) : { field, direction: 1 },
    );
    setSkip(0);
  };
  const saved = () => {
    setEditing(null);
    page.reload();
    onChanged();
  };

  return (
    <div class="entity-browser">
      <div class="toolbar">
        <h2 class="collection-title">{collection}</h2>
        <span class="muted" data-testid="entity-total">
          {total === null
            ? ''
            : `${total.toLocaleString()} ${total === 1 ? 'entity' : 'entities'}${Object.keys(filter).length ? ' match' : ''}`}
        </span>
        <span class="spacer" />
        <button class="danger" onClick={() => setEditing({ kind: 'delete-collection' })}>
          Delete collection…
        </button>
        <button onClick={() => page.reload()} aria-label="Reload" title="Reload">
          ⟳ Reload
        </button>
        <button class="primary" onClick={() => setEditing({ kind: 'new' })}>
          + New entity
        </button>
      </div>
      <QueryBox applied={filter} onApply={applyFilter} />
      <ErrorBox error={page.error} />
      <div class={`table-wrap${page.loading ? ' loading' : ''}`}>
        <table class="grid entities" data-testid="entity-table" aria-busy={page.loading}>
          <thead>
            <tr>
              {columns.map((column) => {
                const field = sortFieldOf(column);
                const active = sort && field === sort.field;
                return (
                  <th
                    key={column}
                    class={field ? 'sortable' : undefined}
                    aria-sort={active ? (sort.direction === 1 ? 'ascending' : 'descending') : undefined}
                    scope="col"
                  >
                    {field ? (
                      <button class="th-sort" onClick={() => toggleSort(column)} data-testid={`sort-${column}`}>
                        {column === '_kmd' ? '_kmd.lmt' : column}
                        <span class="sort-mark" aria-hidden="true">
                          {active ? (sort.direction === 1 ? ' ▲' : ' ▼') : ''}
                        </span>
                      </button>
                    ) : (
                      column
                    )}
                  </th>
                );
              })}
              {rows.length > 0 && (
                <th class="actions" scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr
                key={String(row._id)}
                data-testid={`entity-row-${String(row._id)}`}
                onClick={() => setEditing({ kind: 'edit', entity: row })}
                tabIndex={0}
                onKeyDown={(e) =>
                  e.key === 'Enter' && e.target === e.currentTarget && setEditing({ kind: 'edit', entity: row })
                }
              >
                {columns.map((column) => (
                  <td key={column}>
                    <Cell column={column} value={row[column]} />
                  </td>
                ))}
                <td class="actions">
                  <button
                    class="link"
                    aria-label={`Edit the ACL of ${String(row._id)}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setEditing({ kind: 'acl', entity: row });
                    }}
                  >
                    ACL
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!page.loading && rows.length === 0 && !page.error && (
          <div class="empty" data-testid="entity-empty">
            {Object.keys(filter).length ? (
              'No entity matches this query.'
            ) : (
              <>
                No entities yet.{' '}
                <button class="link" onClick={() => setEditing({ kind: 'new' })}>
                  Create the first one
                </button>
                .
              </>
            )}
          </div>
        )}
      </div>
      <Pager skip={skip} limit={PAGE_SIZE} total={total} shown={rows.length} onSkip={setSkip} />
      {editing?.kind === 'new' && <EntityEditor api={api} collection={collection} onClose={close} onSaved={saved} />}
      {editing?.kind === 'edit' && (
        <EntityEditor api={api} collection={collection} entity={editing.entity} onClose={close} onSaved={saved} />
      )}
      {editing?.kind === 'acl' && (
        <AclEditor api={api} collection={collection} entity={editing.entity} onClose={close} onSaved={saved} />
      )}
      {editing?.kind === 'delete-collection' && (
        <DeleteCollection api={api} collection={collection} total={total} onClose={close} onDeleted={onDeleted} />
      )}
    </div>
  );
}
