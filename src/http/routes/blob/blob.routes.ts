import { Router, type Request, type Response } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { parseTls, parseTtl } from '../../../domain/files/download-urls';
import { FilesService, type FileContext, type UploadTicket } from '../../../domain/files/files.service';
import { parseListQuery } from '../../../domain/query/parse-query';
import type { StoredDocument } from '../../../domain/ports';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import type { HookOperation, HookPipeline } from '../../../business-logic/hooks/hook-pipeline';
import type { BlResponse } from '../../../business-logic/types';
import { FILES_COLLECTION } from '../../../domain/files/file-metadata';
import { hookedCall, inputOf, sendBlResponse } from '../../business-logic';
import { appOf, principalOf } from '../../middleware/locals';

export interface BlobRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  files: FilesService;
  /** Default `ttl_in_seconds` of download links. */
  downloadUrlTtlSeconds: number;
  /** Scheme of download links when `tls` is absent. */
  defaultHttps: boolean;
  clock: () => Date;
  /** `_blob` collection hooks (Business Logic). */
  hooks: HookPipeline;
}

/** `/blob/:appKey`: Kinvey's Files API (kinvey-protocol.md §4). Users and master only. */
export function blobRoutes({ apps, sessions, files, downloadUrlTtlSeconds, defaultHttps, clock, hooks }: BlobRoutesDeps): Router {
  const router = Router();
  const base = '/blob/:appKey';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));

  const linkOptions = (req: Request) => ({
    ttlSeconds: parseTtl(req.query.ttl_in_seconds, 'ttl_in_seconds', downloadUrlTtlSeconds),
    https: parseTls(req.query.tls, 'tls', defaultHttps),
    now: clock(),
  });

  // `_blob` collection hooks wrap every metadata route; post hooks see _uploadURL / _downloadURL.
  const call = (req: Request, res: Response, operation: HookOperation, id?: string) => hookedCall(req, res, FILES_COLLECTION, operation, id);

  router.post(base, async (req, res) => {
    sendBlResponse(res, await hooks.run(call(req, res, 'insert'), inputOf(req), async ({ body }) =>
      ticketResponse(req, res, await files.create(contextOf(res), body, req.get('x-kinvey-content-type')))));
  });

  router.put(`${base}/:fileId`, async (req, res) => {
    const id = String(req.params.fileId);
    sendBlResponse(res, await hooks.run(call(req, res, 'update', id), inputOf(req), async ({ body }) =>
      ticketResponse(req, res, await files.replace(contextOf(res), id, body, req.get('x-kinvey-content-type')))));
  });

  router.get(base, async (req, res) => {
    const options = linkOptions(req);
    sendBlResponse(res, await hooks.run(call(req, res, 'fetch'), inputOf(req), async ({ params }) => {
      const query = parseListQuery(params);
      const docs = await files.list(contextOf(res), query);
      const shown = await Promise.all(docs.map((doc) => files.presentWithLink(appKeyOf(res), doc, options)));
      return { status: 200, headers: {}, body: query.fields ? shown.map((doc) => project(doc, query.fields ?? [])) : shown };
    }));
  });

  router.get(`${base}/:fileId`, async (req, res) => {
    const options = linkOptions(req);
    const id = String(req.params.fileId);
    sendBlResponse(res, await hooks.run(call(req, res, 'fetch', id), inputOf(req), async () => {
      const doc = await files.get(contextOf(res), id);
      return { status: 200, headers: {}, body: await files.presentWithLink(appKeyOf(res), doc, options) };
    }));
  });

  router.delete(`${base}/:fileId`, async (req, res) => {
    const id = String(req.params.fileId);
    sendBlResponse(res, await hooks.run(call(req, res, 'delete', id), inputOf(req), async () =>
      ({ status: 200, headers: {}, body: { count: await files.remove(contextOf(res), id) } })));
  });

  return router;
}

function contextOf(res: Response): FileContext {
  const origin = browserOrigin(res.req.get('origin'));
  return FilesService.contextFor(appOf(res), principalOf(res), origin);
}

/**
 * A serialized web origin (`http(s)://host[:port]`, at most 255 characters), else undefined:
 * the `null` origin of sandboxed pages and anything malformed are not passed on to storage.
 */
function browserOrigin(header: string | undefined): string | undefined {
  if (!header || header.length > 255) return undefined;
  return /^https?:\/\/(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(header) ? header : undefined;
}

function appKeyOf(res: Response): string {
  return appOf(res).appKey;
}

function ticketResponse(req: Request, res: Response, ticket: UploadTicket): BlResponse {
  if (ticket.created) res.location(`/blob/${encodeURIComponent(String(req.params.appKey))}/${encodeURIComponent(ticket.file._id)}`);
  const body = { ...ticket.file, _uploadURL: ticket.uploadUrl, _expiresAt: ticket.expiresAt.toISOString(), _requiredHeaders: ticket.requiredHeaders };
  return { status: ticket.created ? 201 : 200, headers: {}, body };
}

/** `fields`: `_id`, the named top-level fields and the link fields. */
function project(doc: StoredDocument, fields: readonly string[]): StoredDocument {
  const keep = new Set(['_id', '_downloadURL', '_expiresAt', ...fields.map((f) => f.split('.')[0] ?? f)]);
  return Object.fromEntries(Object.entries(doc).filter(([key]) => keep.has(key))) as StoredDocument;
}
