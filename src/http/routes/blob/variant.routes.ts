/**
 * `GET /blob-variants/:appKey/:fileId/:name?g&e&s`: the link a response gives for an image
 * variant that is not stored yet. The first request renders it; every request then redirects
 * (302) to the object store's URL of the stored variant, expiring with the link. No Kinvey auth:
 * the link's signature is the credential, as for a signed storage URL (variant-links.ts).
 */
import { Router, type Request, type Response } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { errors } from '../../../domain/errors';
import type { FilesService } from '../../../domain/files/files.service';
import { VARIANT_LINK_PATH } from '../../../domain/files/images/variant-links';

export function variantRoutes(deps: { apps: AppRegistry; files: FilesService; defaultHttps: boolean }): Router {
  const router = Router();
  router.get(`${VARIANT_LINK_PATH}/:appKey/:fileId/:name`, async (req: Request, res: Response) => {
    const app = deps.apps.get(String(req.params.appKey));
    if (!app) throw errors.appNotFound();
    const url = await deps.files.variantUrl(
      app,
      String(req.params.fileId),
      String(req.params.name),
      req.query,
      deps.defaultHttps,
    );
    // The redirect changes once the link expires; caches must ask again rather than keep it.
    res.set('Cache-Control', 'no-store').redirect(302, url);
  });
  return router;
}
