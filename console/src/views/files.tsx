/**
 * Files (`_blob`): a grid or a table of one page of files (100 at a time), a filename search,
 * per-file details (metadata, ACL, download, public/private, delete) and resumable uploads.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Pager, useAsync } from '../components/common';
import { FileDetails } from './files-details';
import { FileGrid, FileTable } from './files-grid';
import type { BlobFile } from './files-shared';
import { Uploads } from './files-upload';

const PAGE = 100;
type View = 'grid' | 'list';

/** A case-insensitive `$regex` matching the typed text literally. */
function filenameFilter(search: string): string | undefined {
  const text = search.trim();
  if (!text) return undefined;
  return JSON.stringify({ _filename: { $regex: text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), $options: 'i' } });
}

export function Files({ api }: { api: Api }) {
  const [view, setView] = useState<View>(() =>
    sessionStorage.getItem('kinbase.console.filesView') === 'list' ? 'list' : 'grid',
  );
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [skip, setSkip] = useState(0);
  const [open, setOpen] = useState<BlobFile | null>(null);

  // Typing narrows the list after a short pause; only a changed search goes back to the first page.
  useEffect(() => {
    if (typed === search) return undefined;
    const timer = setTimeout(() => {
      setSearch(typed);
      setSkip(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [typed]);
  useEffect(() => sessionStorage.setItem('kinbase.console.filesView', view), [view]);

  // One more than a page tells whether a next page exists without counting.
  const page = useAsync(
    (signal) =>
      api
        .readWithThumbs<BlobFile[]>(api.blob(), {
          query: {
            query: filenameFilter(search),
            sort: JSON.stringify({ '_kmd.lmt': -1 }),
            limit: PAGE + 1,
            skip,
            tls: location.protocol === 'https:',
          },
          signal,
        })
        .then((a) => a.body),
    [api, search, skip],
  );

  const rows = page.value ?? [];
  const shown = rows.slice(0, PAGE);
  const total = rows.length > PAGE ? null : skip + rows.length;

  return (
    <section class="files-view">
      <div class="toolbar row">
        <h1>Files</h1>
        <span class="spacer" />
        <input
          type="search"
          placeholder="Search filenames…"
          aria-label="Search filenames"
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        <div class="files-toggle" role="group" aria-label="View">
          <button
            aria-pressed={view === 'grid'}
            class={view === 'grid' ? 'active' : ''}
            onClick={() => setView('grid')}
          >
            Grid
          </button>
          <button
            aria-pressed={view === 'list'}
            class={view === 'list' ? 'active' : ''}
            onClick={() => setView('list')}
          >
            List
          </button>
        </div>
        <button onClick={page.reload} disabled={page.loading} aria-label="Refresh">
          ↻
        </button>
      </div>
      <Uploads api={api} onUploaded={page.reload} />
      <ErrorBox error={page.error} />
      {page.value && shown.length === 0 && (
        <div class="panel muted files-empty">
          {search ? `No file name matches “${search}”.` : 'No files yet. Drop some above.'}
        </div>
      )}
      {shown.length > 0 &&
        (view === 'grid' ? <FileGrid files={shown} onOpen={setOpen} /> : <FileTable files={shown} onOpen={setOpen} />)}
      {(skip > 0 || rows.length > PAGE) && (
        <Pager skip={skip} limit={PAGE} total={total} shown={shown.length} onSkip={setSkip} />
      )}
      {open && (
        <FileDetails
          api={api}
          file={open}
          onClose={() => setOpen(null)}
          onChanged={(fresh) => {
            setOpen(fresh);
            page.reload();
          }}
        />
      )}
    </section>
  );
}
