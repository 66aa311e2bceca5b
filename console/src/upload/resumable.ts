/**
 * Sends a Blob to an upload URL with Google Cloud Storage's resumable protocol, as kinbase's
 * storage backends accept it (kinvey-protocol.md §4.3): chunks of a multiple of 256 KiB PUT with
 * `Content-Range: bytes a-b/total`; 308 (+ `Range: bytes=0-N`) asks for more, 200/201 ends it.
 * A chunk that fails (network error, 5xx, timeout) is followed by a status probe
 * (`Content-Range: bytes * /total`, empty body) and the upload resumes where the server says it
 * stands, with exponential backoff. Only one chunk is in memory at a time (`Blob.slice`).
 * A cross-origin bucket whose CORS does not expose `Range` hides how much it holds: a 308 to a
 * chunk then counts the chunk as stored (the next chunk or the final answer tells otherwise),
 * never as "nothing stored", which would send the first chunk again forever. A server that keeps
 * answering 308 without taking any byte is given up on after `maxRetries` answers.
 * No UI here: the caller gets progress and state through callbacks.
 */

export const CHUNK_QUANTUM = 256 * 1024;
export const DEFAULT_CHUNK_SIZE = 16 * CHUNK_QUANTUM; // 4 MiB

export type UploadPhase = 'uploading' | 'reconnecting' | 'resuming';

export interface ResumableOptions {
  url: string;
  /** `_requiredHeaders` of the upload ticket. */
  headers?: Record<string, string>;
  /** The Content-Type the upload was opened for. */
  contentType: string;
  blob: Blob;
  /** Bytes per PUT; rounded down to a multiple of 256 KiB. */
  chunkSize?: number;
  /** Consecutive failures tolerated before giving up. */
  maxRetries?: number;
  /** First backoff delay; doubles on each consecutive failure (capped at 15 s). */
  backoffMs?: number;
  /** Per request; a chunk slower than this counts as failed and is resumed. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes the server has (or is receiving) so far, of `total`. */
  onProgress?: (sent: number, total: number) => void;
  /** Phase changes; `reconnecting` carries the failed attempt's number and the wait before the next. */
  onPhase?: (phase: UploadPhase, detail?: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A refusal the upload cannot recover from (4xx), or too many failures in a row. */
export class UploadFailed extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface PutAnswer {
  status: number;
  range: string | null;
  body: string;
}

class Transient extends Error {}

/**
 * Uploads `blob` to `url`; resolves once the server answered 200/201. Rejects with UploadFailed
 * on a 4xx or after `maxRetries` consecutive failures, with an AbortError DOMException on abort.
 */
export async function uploadResumable(options: ResumableOptions): Promise<void> {
  const { blob, signal } = options;
  const total = blob.size;
  const chunk = Math.max(
    CHUNK_QUANTUM,
    Math.floor((options.chunkSize ?? DEFAULT_CHUNK_SIZE) / CHUNK_QUANTUM) * CHUNK_QUANTUM,
  );
  const maxRetries = options.maxRetries ?? 8;
  const backoff = options.backoffMs ?? 500;
  let offset = 0;
  let failures = 0;
  let stalls = 0;
  let resuming = false;
  const rangeMayBeHidden = isCrossOrigin(options.url);

  const report = (sent: number) => options.onProgress?.(Math.min(sent, total), total);
  options.onPhase?.('uploading');
  report(0);

  for (;;) {
    signal?.throwIfAborted();
    try {
      let answer: PutAnswer;
      // End (exclusive) of the bytes this request carries; null for a status probe.
      let sentEnd: number | null = null;
      if (resuming || total === 0) {
        // Ask the server what it has before sending more.
        answer = await put(options, `bytes */${total}`, null, () => undefined);
      } else {
        const end = Math.min(offset + chunk, total) - 1;
        const start = offset;
        sentEnd = end + 1;
        answer = await put(options, `bytes ${start}-${end}/${total}`, blob.slice(start, end + 1), (loaded) =>
          report(start + loaded),
        );
      }
      if (answer.status === 200 || answer.status === 201) {
        report(total);
        return;
      }
      if (answer.status === 308) {
        // Without a readable Range, a probe keeps the last acknowledged offset (see above).
        const received = answer.range === null && rangeMayBeHidden ? (sentEnd ?? offset) : receivedOf(answer.range);
        if (sentEnd !== null && received <= offset) {
          stalls += 1;
          if (stalls > maxRetries)
            throw new UploadFailed(`the upload URL answered 308 ${stalls} times without storing the bytes sent`, 308);
        } else {
          stalls = 0;
        }
        offset = received;
        report(offset);
        if (resuming) options.onPhase?.('uploading');
        resuming = false;
        failures = 0;
        continue;
      }
      if (answer.status >= 500 || answer.status === 408 || answer.status === 429)
        throw new Transient(`HTTP ${answer.status}`);
      throw new UploadFailed(describeRefusal(answer), answer.status);
    } catch (error) {
      if (!(error instanceof Transient)) throw error;
      failures += 1;
      if (failures > maxRetries) throw new UploadFailed(`gave up after ${maxRetries} retries: ${error.message}`, 0);
      const delayMs = Math.min(15_000, backoff * 2 ** (failures - 1));
      options.onPhase?.('reconnecting', { attempt: failures, delayMs, reason: error.message });
      await waitToRetry(delayMs, signal);
      options.onPhase?.('resuming');
      resuming = true;
    }
  }
}

/** Whether `url` is on another origin than the page (its response headers then need CORS exposure). */
function isCrossOrigin(url: string): boolean {
  try {
    return new URL(url, location.href).origin !== location.origin;
  } catch {
    return false;
  }
}

/** `Range: bytes=0-N` → N + 1; no header → nothing received. */
export function receivedOf(range: string | null): number {
  const match = range ? /bytes=0-(\d+)/.exec(range) : null;
  return match ? Number(match[1]) + 1 : 0;
}

function describeRefusal(answer: PutAnswer): string {
  try {
    const body = JSON.parse(answer.body) as { error?: string; description?: string };
    if (body.error) return `${body.error}: ${body.description ?? ''}`;
  } catch {
    // not JSON: fall through
  }
  return `the upload URL answered HTTP ${answer.status}`;
}

/**
 * The ticket's required headers, then Content-Type and Content-Range, each name once: XHR joins
 * two values set under one name ("image/png, image/png"), which the upload URL would refuse.
 */
function requestHeaders(options: ResumableOptions, contentRange: string): Map<string, string> {
  const headers = new Map<string, string>();
  const own = { 'Content-Type': options.contentType, 'Content-Range': contentRange };
  for (const [name, value] of [...Object.entries(options.headers ?? {}), ...Object.entries(own)])
    headers.set(name.toLowerCase(), value);
  return headers;
}

/** One PUT through XMLHttpRequest (fetch cannot report upload progress). */
function put(
  options: ResumableOptions,
  contentRange: string,
  body: Blob | null,
  onLoaded: (loaded: number) => void,
): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const { signal } = options;
    const abort = () => xhr.abort();
    const done = () => signal?.removeEventListener('abort', abort);
    xhr.open('PUT', options.url);
    for (const [name, value] of requestHeaders(options, contentRange)) xhr.setRequestHeader(name, value);
    xhr.timeout = options.timeoutMs ?? 120_000;
    xhr.upload.onprogress = (event) => onLoaded(event.loaded);
    xhr.onload = () => {
      done();
      resolve({ status: xhr.status, range: readableRange(xhr), body: xhr.responseText });
    };
    xhr.onerror = () => {
      done();
      reject(new Transient('the connection dropped'));
    };
    xhr.ontimeout = () => {
      done();
      reject(new Transient('the request timed out'));
    };
    xhr.onabort = () => {
      done();
      reject(
        signal?.aborted
          ? new DOMException('The upload was cancelled.', 'AbortError')
          : new Transient('the request was aborted'),
      );
    };
    signal?.addEventListener('abort', abort);
    xhr.send(body);
  });
}

/**
 * The response's Range header, or null when it has none or CORS does not expose it (read from the
 * exposed header list: `getResponseHeader` of a hidden header logs an error in the console).
 */
function readableRange(xhr: XMLHttpRequest): string | null {
  const line = xhr
    .getAllResponseHeaders()
    .split(/\r?\n/)
    .find((header) => /^range:/i.test(header));
  return line ? line.slice('range:'.length).trim() : null;
}

/** Waits `delayMs`; while the browser is offline, until it comes back online. Rejects on abort. */
function waitToRetry(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      removeEventListener('online', onOnline);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOnline = () => {
      finish();
      resolve();
    };
    const onAbort = () => {
      finish();
      reject(new DOMException('The upload was cancelled.', 'AbortError'));
    };
    const onTimer = () => {
      if (!navigator.onLine) return; // keep waiting for `online`
      finish();
      resolve();
    };
    const timer = setTimeout(onTimer, delayMs);
    addEventListener('online', onOnline);
    signal?.addEventListener('abort', onAbort);
  });
}
