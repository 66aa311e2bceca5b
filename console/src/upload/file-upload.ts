/**
 * One file's upload through kinbase's two steps: `POST /blob/:appKey` with the metadata (the answer
 * carries `_uploadURL` and `_requiredHeaders`), then the bytes to that URL (resumable.ts).
 * Cancelling deletes the record the first step made, so no pending file is left behind.
 */
import type { Api } from '../api';
import { uploadResumable, type ResumableOptions, type UploadPhase } from './resumable';

export interface UploadTicket {
  _id: string;
  _uploadURL: string;
  _requiredHeaders?: Record<string, string>;
}

export interface FileUploadCallbacks {
  onCreated?: (id: string) => void;
  onProgress?: (sent: number, total: number) => void;
  onPhase?: ResumableOptions['onPhase'];
}

export type { UploadPhase };

/** Best guess at a file's type when the browser has none. */
export function mimeTypeOf(file: File): string {
  return file.type || 'application/octet-stream';
}

/** Uploads `file`; resolves with the new file's `_id`. Rejects like uploadResumable or with the API's error. */
export async function uploadFile(
  api: Api,
  file: File,
  signal: AbortSignal,
  callbacks: FileUploadCallbacks = {},
  chunkSize?: number,
): Promise<string> {
  const mimeType = mimeTypeOf(file);
  const answer = await api.request<UploadTicket>('POST', api.blob(), {
    body: { _filename: file.name, mimeType, size: file.size, _public: false },
    headers: { 'X-Kinvey-Content-Type': mimeType },
    signal,
  });
  const ticket = answer.body;
  callbacks.onCreated?.(ticket._id);
  try {
    await uploadResumable({
      url: ticket._uploadURL,
      headers: ticket._requiredHeaders ?? {},
      contentType: mimeType,
      blob: file,
      signal,
      ...(chunkSize ? { chunkSize } : {}),
      ...(callbacks.onProgress ? { onProgress: callbacks.onProgress } : {}),
      ...(callbacks.onPhase ? { onPhase: callbacks.onPhase } : {}),
    });
  } catch (error) {
    if (signal.aborted) await api.del(api.blob(ticket._id)).catch(() => undefined);
    throw error;
  }
  return ticket._id;
}
