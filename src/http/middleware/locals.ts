import type { Response } from 'express';
import type { AppDefinition } from '../../config/load-config';
import type { Principal } from '../../domain/access/principal';
import type { FlexDataSource } from '../../business-logic/flex/flex-data-source';

/** `kinveyfile_ttl` / `kinveyfile_tls` of a request, parsed before any route runs (fileLinkParams). */
export interface FileLinkParams {
  ttlSeconds: number;
  https: boolean;
  /** `kinveyfile_variants`: image variant presets whose links to add as `_variants`. */
  variants?: readonly string[];
}

/**
 * Everything kinbase keeps on `res.locals`, with the middleware that sets it. Express types
 * `res.locals` as `Record<string, any>` (a declaration merge into `Express.Locals` would still read
 * as `any`), so handlers read and write it only through `localsOf` and the accessors below: the one
 * place its shape is stated.
 */
export interface RequestLocals {
  /** requestContext: the X-Kinvey-Request-Id this response carries. */
  requestId?: string;
  /** requestContext: takes the request's start from the write clock (see requestStartOf). */
  takeRequestStart?: () => Date;
  /** requestStartOf: the start, once taken. */
  requestStart?: Date;
  /** withApp: the app of `:appKey`. */
  app?: AppDefinition;
  /** requireAuth: who asks, already checked against the route's credential policy. */
  principal?: Principal;
  /** fileLinkParams: how KinveyFile download links of this response are made. */
  fileLinks?: FileLinkParams;
  /** externalCollectionRoutes: the Flex data source of an external collection. */
  external?: { source: FlexDataSource; collection: string };
  /** A route pattern for the request metrics when Express's own route is not the one to report. */
  metricsRoute?: string;
}

/** The typed view of `res.locals`. */
export function localsOf(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

/** The app withApp found; a handler mounted without withApp is a wiring bug (500). */
export function appOf(res: Response): AppDefinition {
  const { app } = localsOf(res);
  if (!app) throw new Error('res.locals.app is read before withApp ran');
  return app;
}

/** The principal requireAuth admitted; a handler mounted without requireAuth is a wiring bug (500). */
export function principalOf(res: Response): Principal {
  const { principal } = localsOf(res);
  if (!principal) throw new Error('res.locals.principal is read before requireAuth ran');
  return principal;
}

/** The user principal of a route whose policy is 'session' (requireAuth admits users only there). */
export function userPrincipalOf(res: Response): Extract<Principal, { kind: 'user' }> {
  const principal = principalOf(res);
  if (principal.kind !== 'user') throw new Error('a session-only route was reached without a user principal');
  return principal;
}
