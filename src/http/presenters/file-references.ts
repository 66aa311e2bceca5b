import type { NextFunction, Request, Response } from 'express';
import { parseTls, parseTtl } from '../../domain/files/download-urls';
import type { FileReferenceResolver } from '../../domain/files/reference-resolver';
import type { Principal } from '../../domain/access/principal';
import type { StoredDocument } from '../../domain/ports';
import { serializeOncePer } from './expansion-json';
import { appOf, localsOf, type FileLinkParams } from '../middleware/locals';

/**
 * Parses `kinveyfile_ttl` and `kinveyfile_tls` for every request, before any route runs, so a
 * bad value is a 400 ParameterValueOutOfRange that never follows a completed write.
 */
export function fileLinkParams(defaultTtlSeconds: number, defaultHttps: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const params: FileLinkParams = {
      ttlSeconds: parseTtl(req.query.kinveyfile_ttl, 'kinveyfile_ttl', defaultTtlSeconds),
      https: parseTls(req.query.kinveyfile_tls, 'kinveyfile_tls', defaultHttps),
    };
    localsOf(res).fileLinks = params;
    next();
  };
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
