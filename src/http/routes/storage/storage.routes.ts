/**
 * The HTTP endpoints of the local storage backend: signed downloads, public downloads and the
 * upload URLs (Google Cloud Storage's resumable protocol, kinvey-protocol.md §4.3). No Kinvey auth
 * here: the URL signature is the credential. Bodies are streamed, never buffered.
 */
import { pipeline, type Readable } from 'node:stream';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { errors, type KinveyError } from '../../../domain/errors';
import { StoreError, type ByteRange, type ObjectStat } from '../../../domain/ports';
import { isSafeObjectKey } from '../../../stores/objects/object-key';
import { setRetryAfter } from '../../middleware/retry-after';

/** An upload session as these routes see it: what it was opened for and the bytes received so far. */
export interface UploadSessionState {
  readonly contentType: string;
  /** Declared size in bytes; absent when unknown. */
  readonly size?: number;
  readonly completed: boolean;
  readonly received: number;
}

/**
 * What the upload route needs of a store whose upload URLs point at kinbase itself: the local
 * disk store, and the S3 store (which streams the bytes on into its bucket). Both speak the same
 * resumable protocol through this one route; the HTTP layer names the interface, so it imports no store.
 */
export interface UploadReceiver {
  /** Checks an upload URL; the session it opens, or why not. */
  authorizeUpload(
    id: string,
    expires: unknown,
    signature: unknown,
  ): Promise<
    { ok: true; session: UploadSessionState } | { ok: false; reason: 'not-found' | 'invalid' | 'expired' | 'closed' }
  >;
  completeSession(id: string): Promise<UploadSessionState>;
  receiveWholeBody(id: string, body: Readable, limit: number): Promise<UploadSessionState>;
  appendToSession(id: string, offset: number, body: Readable, limit: number): Promise<UploadSessionState>;
}

/**
 * What these routes need of an object store whose signed URLs point at kinbase itself (the local
 * disk store, handed over by the store factory in stores/index.ts): uploads, and the downloads.
 */
export interface SelfServedObjectStore extends UploadReceiver {
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  /** The object's metadata with the filename for Content-Disposition; null if there is no such object. */
  stat(key: string): Promise<(ObjectStat & { filename?: string }) | null>;
  /** Checks a download URL's signature and expiry before any object is looked up. */
  verifyDownload(key: string, expires: unknown, signature: unknown): 'valid' | 'expired' | 'invalid';
}

// Types a browser could execute or render as a document; served as attachments so a stored file
// can never run script in kinbase's origin.
const ACTIVE_CONTENT =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z]+\/[a-z0-9.+-]*\+xml|text\/javascript|application\/(x-)?javascript|application\/ecmascript|text\/ecmascript)$/;

function send(res: Response, error: KinveyError): void {
  setRetryAfter(res, error);
  res.status(error.status).json(error.toJSON());
}

/** RFC 6266 / RFC 5987: an ASCII fallback plus the exact UTF-8 name. */
function contentDisposition(type: 'inline' | 'attachment', filename: string | undefined): string {
  if (!filename) return type;
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

async function serveObject(store: SelfServedObjectStore, key: string, req: Request, res: Response): Promise<void> {
  const stat = await store.stat(key);
  if (!stat) return send(res, errors.blobNotFound(key));
  const mediaType = (stat.contentType.split(';')[0] ?? '').trim().toLowerCase();
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', `"${stat.md5}"`);
  res.setHeader('Last-Modified', stat.updatedAt.toUTCString());
  res.setHeader('Content-Type', stat.contentType);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  res.setHeader(
    'Content-Disposition',
    contentDisposition(ACTIVE_CONTENT.test(mediaType) ? 'attachment' : 'inline', stat.filename),
  );

  let range: { start: number; end: number } | undefined;
  if (req.headers.range && stat.size > 0) {
    const parsed = req.range(stat.size, { combine: true });
    if (parsed === -1) {
      res.setHeader('Content-Range', `bytes */${stat.size}`);
      return send(res, errors.rangeNotSatisfiable(`requested ${req.headers.range} of ${stat.size} bytes`));
    }
    // Several ranges (multipart/byteranges) are not supported: serving the whole object is allowed.
    if (Array.isArray(parsed) && parsed.length === 1 && parsed[0])
      range = { start: parsed[0].start, end: parsed[0].end };
  } else if (req.headers.range && stat.size === 0) {
    res.setHeader('Content-Range', 'bytes */0');
    return send(res, errors.rangeNotSatisfiable('the object is empty'));
  }
  const body = await store.read(key, range);
  if (!body) return send(res, errors.blobNotFound(key));
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${stat.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.status(200).setHeader('Content-Length', String(stat.size));
  }
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  // pipeline (not pipe) so a client that goes away also closes the file.
  pipeline(body, res, () => undefined);
}

function keyOf(req: Request): string | null {
  const raw = (req.params as Record<string, unknown>).key;
  const key = Array.isArray(raw) ? raw.join('/') : raw;
  return isSafeObjectKey(key) ? key : null;
}

type Parsed =
  | { kind: 'probe'; total: number | '*' }
  | { kind: 'chunk'; start: number; end: number; total: number | '*' }
  | { kind: 'whole' };

/** Parses Content-Range of an upload request; null when malformed. */
function parseContentRange(header: string | undefined): Parsed | null {
  if (header === undefined) return { kind: 'whole' };
  const probe = /^bytes \*\/(\d+|\*)$/.exec(header.trim());
  if (probe) return { kind: 'probe', total: probe[1] === '*' ? '*' : Number(probe[1]) };
  const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!chunk) return null;
  const [start, end] = [Number(chunk[1]), Number(chunk[2])];
  const total = chunk[3] === '*' ? '*' : Number(chunk[3]);
  if (end < start || (total !== '*' && end >= total)) return null;
  return { kind: 'chunk', start, end, total };
}

/** 308 "resume incomplete", with `Range` once any byte arrived (what GCS and the SDKs expect). */
function incomplete(res: Response, received: number): void {
  if (received > 0) res.setHeader('Range', `bytes=0-${received - 1}`);
  res.status(308).setHeader('Content-Length', '0');
  res.end();
}

function completed(res: Response, session: UploadSessionState): void {
  res.status(200).json({ size: session.received, contentType: session.contentType });
}

async function handleUpload(store: UploadReceiver, req: Request, res: Response): Promise<void> {
  const id = String(req.params.sessionId);
  const auth = await store.authorizeUpload(id, req.query.expires, req.query.signature);
  if (!auth.ok) {
    req.resume();
    if (auth.reason === 'not-found') return send(res, errors.blobNotFound('no such upload session'));
    const why = {
      expired: 'This upload URL expired before it was first used.',
      closed: 'This upload session is past its deadline.',
      invalid: 'The upload URL signature is invalid.',
    };
    return send(res, errors.insufficientCredentials(why[auth.reason]));
  }
  let session = auth.session;
  const range = parseContentRange(req.get('content-range'));
  if (!range) {
    req.resume();
    return send(res, errors.badRequest(`malformed Content-Range: ${req.get('content-range')}`));
  }
  // The stored object keeps the content type given when the upload was opened; a different one
  // now would silently mislabel it (and could turn a harmless type into an active one).
  const requestType = req.get('content-type');
  if (requestType !== undefined && !isSessionType(requestType, session.contentType)) {
    req.resume();
    return send(
      res,
      errors.unsupportedMediaType(`this upload was opened for ${session.contentType}, the request sent ${requestType}`),
    );
  }
  const declared = session.size;
  if (range.kind !== 'whole' && range.total !== '*' && declared !== undefined && range.total !== declared) {
    req.resume();
    return send(
      res,
      errors.badRequest(`Content-Range announces ${range.total} bytes, the upload declared ${declared}`),
    );
  }
  if (session.completed) {
    req.resume();
    return completed(res, session);
  }

  if (range.kind === 'probe') {
    req.resume();
    // A zero-byte upload is complete as soon as the client says so.
    if (range.total === 0 && session.received === 0) return completed(res, await store.completeSession(id));
    return incomplete(res, session.received);
  }
  if (range.kind === 'whole') {
    session = await store.receiveWholeBody(id, req, declared ?? Number.MAX_SAFE_INTEGER);
    return completed(res, await store.completeSession(id));
  }
  if (range.start !== session.received) {
    req.resume();
    return incomplete(res, session.received);
  }
  const total = range.total === '*' ? declared : range.total;
  const room = total === undefined ? Number.MAX_SAFE_INTEGER : total - range.start;
  session = await store.appendToSession(id, range.start, req, Math.min(range.end - range.start + 1, room));
  if (total !== undefined && session.received === total) return completed(res, await store.completeSession(id));
  return incomplete(res, session.received);
}

function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Whether a request's Content-Type names the session's media type. A client that sets the header
 * from `_requiredHeaders` and then its own (XHR joins them: "image/png, image/png") is accepted
 * when every joined value names it too.
 */
function isSessionType(requestType: string, sessionType: string): boolean {
  const wanted = mediaTypeOf(sessionType);
  return requestType.split(',').every((value) => mediaTypeOf(value) === wanted);
}

/**
 * Adapter errors the client caused become 400s, a momentary shortage (out of file handles) 503 for
 * this request only; everything else goes to the app's error handler. An unread body is drained.
 */
function guard(handler: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    handler(req, res).catch((err: unknown) => {
      if (!req.readableEnded) req.resume();
      // Answered here, not by the app's error middleware: these routes are also mounted alone (the
      // object-store contract suite), and they answer in Kinvey's JSON either way.
      if (err instanceof StoreError && !res.headersSent) {
        if (err.kind === 'invalid') return send(res, errors.badRequest(err.message));
        if (err.kind === 'unavailable') return send(res, errors.storageUnavailable(err.message.slice(0, 200)));
      }
      next(err);
    });
  };
}

/**
 * Routes for the local backend's URLs, mounted before any body parser:
 * `GET /storage/download/*key` (signed), `GET /storage/public/*key` (public objects only) and
 * `PUT|POST /storage/upload/:sessionId` (resumable upload). Errors use Kinvey's body shape.
 */
export function localStorageRoutes(store: SelfServedObjectStore): Router {
  const router = Router();

  router.get(
    '/storage/download/*key',
    guard(async (req, res) => {
      const key = keyOf(req);
      if (!key) return send(res, errors.blobNotFound('malformed object key'));
      const check = store.verifyDownload(key, req.query.expires, req.query.signature);
      // The signature is checked before the object is looked up, so unsigned probing cannot tell
      // which objects exist.
      if (check === 'invalid')
        return send(res, errors.insufficientCredentials('The download URL signature is invalid.'));
      if (check === 'expired') return send(res, errors.insufficientCredentials('The download URL has expired.'));
      await serveObject(store, key, req, res);
    }),
  );

  router.get(
    '/storage/public/*key',
    guard(async (req, res) => {
      const key = keyOf(req);
      const stat = key ? await store.stat(key) : null;
      // A private object answers exactly like a missing one.
      if (!key || !stat?.public) return send(res, errors.blobNotFound(key ?? 'malformed object key'));
      await serveObject(store, key, req, res);
    }),
  );

  router.use(uploadRoutes(store));
  return router;
}

/**
 * `PUT|POST /storage/upload/:sessionId`: the resumable upload protocol (status probes, chunks with
 * Content-Range, single-shot bodies), mounted before any body parser. Errors use Kinvey's body shape.
 */
export function uploadRoutes(receiver: UploadReceiver): Router {
  const router = Router();
  router.put(
    '/storage/upload/:sessionId',
    guard((req, res) => handleUpload(receiver, req, res)),
  );
  router.post(
    '/storage/upload/:sessionId',
    guard((req, res) => handleUpload(receiver, req, res)),
  );
  return router;
}
