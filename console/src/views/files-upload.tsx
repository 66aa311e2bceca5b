/** The dropzone and the upload queue: a progress bar per file that survives a dropped connection. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api';
import { describeError } from '../api';
import { formatBytes, toast } from '../components/common';
import { uploadFile, type UploadPhase } from '../upload/file-upload';

type Status = 'queued' | 'starting' | UploadPhase | 'done' | 'failed' | 'cancelled';

interface Item {
  key: number;
  file: File;
  sent: number;
  status: Status;
  attempt?: number;
  error?: string;
  controller: AbortController;
}

const CONCURRENT = 3;
const STATUS_TEXT: Record<Status, string> = {
  queued: 'Queued',
  starting: 'Starting…',
  uploading: 'Uploading',
  reconnecting: 'Reconnecting…',
  resuming: 'Resuming…',
  done: 'Uploaded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** Uploads dropped or picked files, three at a time; calls `onUploaded` after each one completes. */
export function Uploads({ api, onUploaded }: { api: Api; onUploaded: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const nextKey = useRef(0);
  const running = useRef(0);
  const latest = useRef(items);
  latest.current = items;

  const patch = (key: number, change: Partial<Item>) =>
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));

  const start = (item: Item) => {
    running.current += 1;
    patch(item.key, { status: 'starting' });
    uploadFile(api, item.file, item.controller.signal, {
      onProgress: (sent) => patch(item.key, { sent }),
      onPhase: (phase, detail) => patch(item.key, { status: phase, ...(detail ? { attempt: detail.attempt } : {}) }),
    })
      .then(
        () => {
          patch(item.key, { status: 'done', sent: item.file.size });
          onUploaded();
        },
        (error: unknown) => {
          if (item.controller.signal.aborted) patch(item.key, { status: 'cancelled' });
          else {
            patch(item.key, { status: 'failed', error: describeError(error) });
            toast(`Upload of ${item.file.name} failed`, 'error');
          }
        },
      )
      .finally(() => {
        running.current -= 1;
        pump();
      });
  };

  // Starts queued uploads while fewer than CONCURRENT run.
  const pump = () => {
    for (const item of latest.current) {
      if (running.current >= CONCURRENT) break;
      if (item.status === 'queued') {
        item.status = 'starting';
        start(item);
      }
    }
  };
  useEffect(pump, [items]);
  useEffect(() => () => latest.current.forEach((item) => item.controller.abort()), []);

  const add = (files: FileList | null | undefined) => {
    if (!files?.length) return;
    const added = Array.from(files, (file): Item => ({
      key: ++nextKey.current,
      file,
      sent: 0,
      status: 'queued',
      controller: new AbortController(),
    }));
    setItems((list) => [...added, ...list]);
  };

  const finished = items.filter((item) => item.status === 'done' || item.status === 'cancelled');

  return (
    <div class="files-uploads">
      <div
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragEnter={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) setOver(false);
        }}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          add(e.dataTransfer?.files);
        }}
      >
        <strong>Drop files here to upload</strong>
        <span class="muted"> or </span>
        <button class="primary" onClick={() => picker.current?.click()}>
          Choose files…
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="file-input"
          aria-label="Choose files to upload"
          onChange={(e) => {
            add(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <div class="muted files-hint">
          Resumable uploads in 4 MiB chunks; a dropped connection resumes where it stopped.
        </div>
      </div>
      {items.length > 0 && (
        <div class="panel files-queue" aria-label="Uploads">
          <div class="row">
            <h3>Uploads</h3>
            <span class="spacer" />
            {finished.length > 0 && (
              <button class="link" onClick={() => setItems((list) => list.filter((i) => !finished.includes(i)))}>
                Clear finished
              </button>
            )}
          </div>
          {items.map((item) => (
            <UploadRow key={item.key} item={item} onCancel={() => item.controller.abort()} />
          ))}
        </div>
      )}
    </div>
  );
}

function UploadRow({ item, onCancel }: { item: Item; onCancel: () => void }) {
  const total = item.file.size;
  const percent = total === 0 ? (item.status === 'done' ? 100 : 0) : Math.floor((item.sent / total) * 100);
  const active = !['done', 'failed', 'cancelled'].includes(item.status);
  const label = `${STATUS_TEXT[item.status]}${item.status === 'reconnecting' && item.attempt ? ` (attempt ${item.attempt})` : ''}`;
  return (
    <div class={`files-upload-row ${item.status}`} data-testid="upload-row" data-status={item.status}>
      <span class="name" title={item.file.name}>
        {item.file.name}
      </span>
      <div
        class="progress"
        role="progressbar"
        aria-label={`Upload of ${item.file.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div style={{ width: `${percent}%` }} />
      </div>
      <span class="files-percent" data-testid="upload-percent">
        {percent} %
      </span>
      <span class="muted files-bytes">
        {formatBytes(item.sent)} / {formatBytes(total)}
      </span>
      <span class={`files-status ${item.status}`} data-testid="upload-status" title={item.error}>
        {label}
        {item.error ? `: ${item.error}` : ''}
      </span>
      {active ? (
        <button class="icon" aria-label={`Cancel upload of ${item.file.name}`} onClick={onCancel}>
          ×
        </button>
      ) : (
        <span />
      )}
    </div>
  );
}
