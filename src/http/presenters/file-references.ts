import type { NextFunction, Request, Response } from 'express';
import { parseTls, parseTtl } from '../../domain/files/download-urls';
import { parseVariantNames } from '../../domain/files/images/image-presets';
import type { AppDefinition } from '../../domain/apps/app-definition';
import type { AppRegistry } from '../../domain/apps/app-registry';
import type { FileReferenceResolver } from '../../domain/files/reference-resolver';
import type { Principal } from '../../domain/access/principal';
import type { StoredDocument } from '../../domain/ports';
import { serializeOncePer } from './expansion-json';
import { appOf, localsOf, type FileLinkParams } from '../middleware/locals';

/**
 * Parses `kinveyfile_ttl`, `kinveyfile_tls` and `kinveyfile_variants` for every request, before
 * any route runs, so a bad value is a 400 ParameterValueOutOfRange that never follows a completed
 * write. Variant names are checked against the presets of the app the path names (`/<area>/:appKey`);
 * for an unknown app they are ignored here (the route answers 404).
 */
export function fileLinkParams(defaultTtlSeconds: number, defaultHttps: boolean, apps: AppRegistry) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const app = req.query.kinveyfile_variants === undefined ? undefined : appNamedBy(req.path, apps);
    const variants = app ? parseVariantNames(req.query.kinveyfile_variants, 'kinveyfile_variants', app) : [];
    const params: FileLinkParams = {
      ttlSeconds: parseTtl(req.query.kinveyfile_ttl, 'kinveyfile_ttl', defaultTtlSeconds),
      https: parseTls(req.query.kinveyfile_tls, 'kinveyfile_tls', defaultHttps),
      ...(variants.length > 0 ? { variants } : {}),
    };
    localsOf(res).fileLinks = params;
    next();
  };
}

/** The app of a `/<area>/:appKey/...` path, if it names one. */
function appNamedBy(path: string, apps: AppRegistry): AppDefinition | undefined {
  const segment = path.split('/')[2];
  if (!segment) return undefined;
  try {
    return apps.get(decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

/**
 * The presenter of entities and users: expands the KinveyFile references of the whole response
 * with the reader's rights and the request's link parameters.
 */
export function referencePresenter(resolver: FileReferenceResolver, clock: () => Date) {
  return async (docs: StoredDocument[], req: Request, principal: Principal): Promise<StoredDocument[]> => {
    const res = req.res as Response;
    const params = localsOf(res).fileLinks;
    // Only the signup whose JSON body is `null` gets here without them (its recovery resumes after
    // the body parser, past fileLinkParams); such a body holds no references to expand.
    if (!params) return docs;
    return resolver.resolve(appOf(res), principal, docs, { ...params, now: clock() }, serializeOncePer(res));
  };
}
