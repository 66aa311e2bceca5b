import { Router, type Request, type Response } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { parseTls, parseTtl, type LinkOptions } from '../../../domain/files/download-urls';
import { parseVariantNames } from '../../../domain/files/images/image-presets';
import { errors } from '../../../domain/errors';
import { FilesService, type FileContext, type UploadTicket } from '../../../domain/files/files.service';
import { parseListQuery } from '../../../domain/query/parse-query';
import type { StoredDocument } from '../../../domain/ports';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import type { HookPipeline } from '../../../business-logic/hooks/hook-pipeline';
import type { BlResponse } from '../../../business-logic/types';
import { FILES_COLLECTION } from '../../../domain/files/file-metadata';
import { collectionTarget, hookedRoute, type HookTarget } from '../../hooked-route';
import { appOf, localsOf, principalOf } from '../../middleware/locals';

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
export function blobRoutes({
  apps,
  sessions,
  files,
  downloadUrlTtlSeconds,
  defaultHttps,
  clock,
  hooks,
}: BlobRoutesDeps): Router {
  const router = Router();
  const base = '/blob/:appKey';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));

  const linkOptions = (req: Request): LinkOptions => {
    const res = req.res as Response;
    const variants = localsOf(res).fileLinks?.variants ?? [];
    // `variant` names one preset whose link becomes `_downloadURL` (single-file reads only).
    const [variant, ...more] = req.params.fileId ? parseVariantNames(req.query.variant, 'variant', appOf(res)) : [];
    if (more.length > 0) throw errors.parameterValueOutOfRange('variant names one image variant.');
    return {
      ttlSeconds: parseTtl(req.query.ttl_in_seconds, 'ttl_in_seconds', downloadUrlTtlSeconds),
      https: parseTls(req.query.tls, 'tls', defaultHttps),
      now: clock(),
      ...(variants.length > 0 ? { variants } : {}),
      ...(variant !== undefined ? { variant } : {}),
    };
  };

  // `_blob` collection hooks wrap every metadata route; post hooks see _uploadURL / _downloadURL.
  const file = collectionTarget(FILES_COLLECTION, 'fileId');
  // Reads parse their link parameters first: a bad ttl_in_seconds or tls is a 400 before any hook.
  const read = (req: Request): HookTarget & { links: LinkOptions } => ({ links: linkOptions(req), ...file(req) });

  router.post(
    base,
    hookedRoute(hooks, 'insert', file, async ({ body }, _target, req, res) =>
      ticketResponse(req, res, await files.create(contextOf(res), body, req.get('x-kinvey-content-type'))),
    ),
  );

  router.put(
    `${base}/:fileId`,
    hookedRoute(hooks, 'update', file, async ({ body }, _target, req, res) =>
      ticketResponse(
        req,
        res,
        await files.replace(contextOf(res), String(req.params.fileId), body, req.get('x-kinvey-content-type')),
      ),
    ),
  );

  router.get(
    base,
    hookedRoute(hooks, 'fetch', read, async ({ params }, { links }, _req, res) => {
      const query = parseListQuery(params);
      const docs = await files.list(contextOf(res), query);
      const shown = await Promise.all(docs.map((doc) => files.presentWithLink(appOf(res), doc, links)));
      return {
        status: 200,
        headers: {},
        body: query.fields ? shown.map((doc) => project(doc, query.fields ?? [])) : shown,
      };
    }),
  );

  router.get(
    `${base}/:fileId`,
    hookedRoute(hooks, 'fetch', read, async (_input, { links }, req, res) => {
      const doc = await files.get(contextOf(res), String(req.params.fileId));
      return { status: 200, headers: {}, body: await files.presentWithLink(appOf(res), doc, links) };
    }),
  );

  router.delete(
    `${base}/:fileId`,
    hookedRoute(hooks, 'delete', file, async (_input, _target, req, res) => ({
      status: 200,
      headers: {},
      body: { count: await files.remove(contextOf(res), String(req.params.fileId)) },
    })),
  );

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
  return /^https?:\/\/(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(
    header,
  )
    ? header
    : undefined;
}

function ticketResponse(req: Request, res: Response, ticket: UploadTicket): BlResponse {
  if (ticket.created)
    res.location(`/blob/${encodeURIComponent(String(req.params.appKey))}/${encodeURIComponent(ticket.file._id)}`);
  const body = {
    ...ticket.file,
    _uploadURL: ticket.uploadUrl,
    _expiresAt: ticket.expiresAt.toISOString(),
    _requiredHeaders: ticket.requiredHeaders,
  };
  return { status: ticket.created ? 201 : 200, headers: {}, body };
}

/** `fields`: `_id`, the named top-level fields and the link fields. */
function project(doc: StoredDocument, fields: readonly string[]): StoredDocument {
  const keep = new Set([
    '_id',
    '_downloadURL',
    '_expiresAt',
    '_placeholder',
    '_variants',
    ...fields.map((f) => f.split('.')[0] ?? f),
  ]);
  return Object.fromEntries(Object.entries(doc).filter(([key]) => keep.has(key))) as StoredDocument;
}
