/** One file's details: metadata, ACL (editable), download, make public/private, delete. */
import { placeholderStyle, tileUrlOf } from '../components/image-preview';
import { useState } from 'preact/hooks';
import { safeUrl, type Api } from '../api';
import { ErrorBox, formatBytes, formatDate, Modal, toast } from '../components/common';
import { AclDialog } from './collections-acl';
import { displayName, FileBadges, isImage, type BlobFile } from './files-shared';

const SHOWN_ELSEWHERE = new Set([
  '_id',
  '_placeholder',
  '_variants',
  '_filename',
  'mimeType',
  'size',
  '_public',
  '_acl',
  '_kmd',
  '_downloadURL',
  '_expiresAt',
  '_uploadState',
]);

export function FileDetails({
  api,
  file,
  onClose,
  onChanged,
}: {
  api: Api;
  file: BlobFile;
  onClose: () => void;
  onChanged: (file: BlobFile | null) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [editingAcl, setEditingAcl] = useState(false);
  const name = displayName(file);
  const acl = file._acl ?? {};
  const custom = Object.entries(file).filter(([key]) => !SHOWN_ELSEWHERE.has(key));

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  /**
   * PUT replaces the metadata: send the record back as it is with `change` applied, and read it
   * again. The server keeps serving the stored bytes (`_uploadState.previous`) and applies the
   * new visibility or ACL at once.
   */
  const saveMetadata = async (change: Record<string, unknown>): Promise<BlobFile> => {
    const { _downloadURL, _expiresAt, _uploadState, _kmd, _placeholder, _variants, ...metadata } = file;
    void _downloadURL;
    void _placeholder;
    void _variants;
    void _expiresAt;
    void _uploadState;
    void _kmd;
    const body = { ...metadata, ...change };
    await api.request('PUT', api.blob(file._id), {
      body,
      headers: { 'X-Kinvey-Content-Type': file.mimeType ?? 'application/octet-stream' },
    });
    return (await api.readWithThumbs<BlobFile>(api.blob(file._id), { query: { tls: location.protocol === 'https:' } }))
      .body;
  };

  const togglePublic = () =>
    run(async () => {
      const fresh = await saveMetadata({ _public: !file._public });
      toast(`${name} is now ${fresh._public ? 'public' : 'private'}`);
      onChanged(fresh);
    });

  if (editingAcl) {
    return (
      <AclDialog
        subject={name}
        acl={file._acl}
        onClose={() => setEditingAcl(false)}
        save={(next) => saveMetadata({ _acl: next })}
        onSaved={(fresh) => {
          setEditingAcl(false);
          onChanged(fresh);
        }}
      />
    );
  }

  const remove = () =>
    run(async () => {
      await api.del(api.blob(file._id));
      toast(`Deleted ${name}`);
      onChanged(null);
    });

  return (
    <Modal title={name} onClose={onClose} wide>
      <div class="files-details" data-testid="file-details">
        <div class="files-details-preview">
          {isImage(file) ? (
            <img src={safeUrl(tileUrlOf(file))} style={placeholderStyle(file)} alt={name} />
          ) : (
            <span class="files-type big">{file.mimeType ?? 'file'}</span>
          )}
        </div>
        <div>
          <FileBadges file={file} />
          <dl>
            <dt>_id</dt>
            <dd>
              <code>{file._id}</code>
            </dd>
            <dt>Filename</dt>
            <dd>{name}</dd>
            <dt>Size</dt>
            <dd>
              {formatBytes(file.size)}
              {typeof file.size === 'number' ? <span class="muted"> ({file.size.toLocaleString()} bytes)</span> : null}
            </dd>
            <dt>Type</dt>
            <dd>
              <code>{file.mimeType ?? '—'}</code>
            </dd>
            <dt>Upload</dt>
            <dd data-testid="upload-state">
              <UploadState file={file} />
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(file._kmd?.ect)}</dd>
            <dt>Modified</dt>
            <dd>{formatDate(file._kmd?.lmt)}</dd>
            <dt>Link</dt>
            <dd>{file._public ? 'permanent (public)' : `signed, expires ${formatDate(file._expiresAt)}`}</dd>
          </dl>
          <div class="row files-acl-title">
            <h3>ACL</h3>
            <button
              class="link"
              onClick={() => setEditingAcl(true)}
              disabled={busy}
              aria-label={`Edit the ACL of ${name}`}
            >
              Edit…
            </button>
          </div>
          <dl data-testid="file-acl">
            <dt>Creator</dt>
            <dd>
              <code>{acl.creator ?? '—'}</code>
            </dd>
            <dt>Global read</dt>
            <dd>{acl.gr === undefined ? 'default' : acl.gr ? 'yes' : 'no'}</dd>
            <dt>Global write</dt>
            <dd>{acl.gw === undefined ? 'default' : acl.gw ? 'yes' : 'no'}</dd>
            <dt>Readers</dt>
            <dd>{acl.r?.length ? acl.r.join(', ') : '—'}</dd>
            <dt>Writers</dt>
            <dd>{acl.w?.length ? acl.w.join(', ') : '—'}</dd>
            {acl.groups && (
              <>
                <dt>Groups</dt>
                <dd>
                  read: {acl.groups.r?.join(', ') || '—'}; write: {acl.groups.w?.join(', ') || '—'}
                </dd>
              </>
            )}
          </dl>
          {custom.length > 0 && (
            <>
              <h3>Other fields</h3>
              <pre class="files-custom">{JSON.stringify(Object.fromEntries(custom), null, 2)}</pre>
            </>
          )}
        </div>
      </div>
      <ErrorBox error={error} />
      <div class="row files-actions">
        {file._downloadURL && (
          <a class="button" href={safeUrl(file._downloadURL)} download={name} data-testid="download-link">
            Download
          </a>
        )}
        <button onClick={togglePublic} disabled={busy}>
          {file._public ? 'Make private' : 'Make public'}
        </button>
        <span class="spacer" />
        {confirming ? (
          <>
            <span>Delete {name}?</span>
            <button class="danger" onClick={remove} disabled={busy}>
              Yes, delete
            </button>
            <button onClick={() => setConfirming(false)}>Keep</button>
          </>
        ) : (
          <button class="danger" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </div>
    </Modal>
  );
}

function UploadState({ file }: { file: BlobFile }) {
  const state = file._uploadState;
  if (!state?.status) return <>—</>;
  if (state.status === 'pending' && state.previous) {
    return (
      <>
        complete{' '}
        <span class="muted">
          · md5 <code>{state.previous.md5}</code> · a re-upload URL is open; these bytes are served until new ones
          arrive
        </span>
      </>
    );
  }
  if (state.status === 'pending')
    return (
      <>
        pending <span class="muted">· {formatBytes(state.bytesReceived ?? 0)} received, waiting for the bytes</span>
      </>
    );
  return (
    <>
      {state.status}
      {state.md5 ? (
        <span class="muted">
          {' '}
          · md5 <code>{state.md5}</code>
        </span>
      ) : null}
    </>
  );
}
