import { Router, type Request, type Response } from 'express';
import type { AppDefinition } from '../config';
import type { AppRegistry } from '../domain/apps';
import { parseTls, parseTtl } from '../domain/download-urls';
import { FilesService, type FileContext, type UploadTicket } from '../domain/files.service';
import type { Principal } from '../domain/principal';
import { parseListQuery } from '../domain/query';
import type { StoredDocument } from '../ports';
import { requireAuth, withApp, type SessionVerifier } from './middleware/auth';

export interface BlobRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  files: FilesService;
  /** Default `ttl_in_seconds` of download links. */
  downloadUrlTtlSeconds: number;
  /** Scheme of download links when `tls` is absent. */
  defaultHttps: boolean;
  clock: () => Date;
}

/** `/blob/:appKey`: Kinvey's Files API (kinvey-protocol.md §4). Users and master only. */
export function blobRoutes({ apps, sessions, files, downloadUrlTtlSeconds, defaultHttps, clock }: BlobRoutesDeps): Router {
  const router = Router();
  const base = '/blob/:appKey';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));

  const linkOptions = (req: Request) => ({
    ttlSeconds: parseTtl(req.query.ttl_in_seconds, 'ttl_in_seconds', downloadUrlTtlSeconds),
    https: parseTls(req.query.tls, 'tls', defaultHttps),
    now: clock(),
  });

  router.post(base, async (req, res) => {
    const ticket = await files.create(contextOf(res), req.body, req.get('x-kinvey-content-type'));
    sendTicket(req, res, ticket);
  });

  router.put(`${base}/:fileId`, async (req, res) => {
    const ticket = await files.replace(contextOf(res), String(req.params.fileId), req.body, req.get('x-kinvey-content-type'));
    sendTicket(req, res, ticket);
  });

  router.get(base, async (req, res) => {
    const options = linkOptions(req);
    const query = parseListQuery(req.query);
    const docs = await files.list(contextOf(res), query);
    const shown = await Promise.all(docs.map((doc) => files.presentWithLink(appKeyOf(res), doc, options)));
    res.json(query.fields ? shown.map((doc) => project(doc, query.fields ?? [])) : shown);
  });

  router.get(`${base}/:fileId`, async (req, res) => {
    const options = linkOptions(req);
    const doc = await files.get(contextOf(res), String(req.params.fileId));
    res.json(await files.presentWithLink(appKeyOf(res), doc, options));
  });

  router.delete(`${base}/:fileId`, async (req, res) => {
    res.json({ count: await files.remove(contextOf(res), String(req.params.fileId)) });
  });

  return router;
}

function contextOf(res: Response): FileContext {
  return FilesService.contextFor(res.locals.app as AppDefinition, res.locals.principal as Principal);
}

function appKeyOf(res: Response): string {
  return (res.locals.app as AppDefinition).appKey;
}

function sendTicket(req: Request, res: Response, ticket: UploadTicket): void {
  if (ticket.created) res.status(201).location(`/blob/${encodeURIComponent(String(req.params.appKey))}/${encodeURIComponent(ticket.file._id)}`);
  res.json({ ...ticket.file, _uploadURL: ticket.uploadUrl, _expiresAt: ticket.expiresAt.toISOString(), _requiredHeaders: ticket.requiredHeaders });
}

/** `fields`: `_id`, the named top-level fields and the link fields. */
function project(doc: StoredDocument, fields: readonly string[]): StoredDocument {
  const keep = new Set(['_id', '_downloadURL', '_expiresAt', ...fields.map((f) => f.split('.')[0] ?? f)]);
  return Object.fromEntries(Object.entries(doc).filter(([key]) => keep.has(key))) as StoredDocument;
}
