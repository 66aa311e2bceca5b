/** One page of files as cards (with thumbnails) or as a table. */
import { formatBytes, formatDate } from '../components/common';
import { displayName, FileBadges, Preview, type BlobFile } from './files-shared';

interface Props {
  files: readonly BlobFile[];
  onOpen: (file: BlobFile) => void;
}

export function FileGrid({ files, onOpen }: Props) {
  return (
    <ul class="file-grid files-list" data-testid="file-grid" aria-label="Files">
      {files.map((file) => (
        <li key={file._id} class="file-card" data-testid="file-card" data-file-id={file._id}>
          <button class="files-open" onClick={() => onOpen(file)} aria-label={`Open ${displayName(file)}`}>
            <div class="preview">
              <Preview file={file} />
            </div>
          </button>
          <div class="meta">
            <span class="name" title={displayName(file)}>
              {displayName(file)}
            </span>
            <span class="muted files-sub">
              <span data-testid="file-size">{formatBytes(file.size)}</span> ·{' '}
              <span data-testid="file-type">{file.mimeType ?? '—'}</span>
            </span>
            <FileBadges file={file} />
          </div>
        </li>
      ))}
    </ul>
  );
}

export function FileTable({ files, onOpen }: Props) {
  return (
    <div class="table-wrap">
      <table class="grid" data-testid="file-table">
        <thead>
          <tr>
            <th aria-label="Preview" />
            <th>Filename</th>
            <th>Size</th>
            <th>Type</th>
            <th>Access</th>
            <th>Creator</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          {files.map((file) => (
            <tr key={file._id} data-testid="file-row" data-file-id={file._id}>
              <td>
                <Preview file={file} small />
              </td>
              <td>
                <button class="link" onClick={() => onOpen(file)}>
                  {displayName(file)}
                </button>
              </td>
              <td>{formatBytes(file.size)}</td>
              <td>
                <code>{file.mimeType ?? '—'}</code>
              </td>
              <td>
                <FileBadges file={file} />
              </td>
              <td class="muted">
                <code>{file._acl?.creator ?? '—'}</code>
              </td>
              <td class="muted">{formatDate(file._kmd?.lmt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
