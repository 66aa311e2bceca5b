import type { Request, Response } from 'express';
import type { ActionInput, HookOperation, HookPipeline } from '../business-logic/hooks/hook-pipeline';
import type { BlResponse } from '../business-logic/types';
import { hookedCall, inputOf, sendBlResponse } from './business-logic';

/**
 * What a hooked route addresses: its collection, and the entity when the path names one. Worked
 * out before any hook runs, so a bad collection name or parameter is a 4xx that no hook sees.
 */
export interface HookTarget {
  collection: string;
  entityId?: string;
}

/** A hooked route's own work, on the input as the pre hooks left it, with what `target` found. */
export type HookedAction<T extends HookTarget> = (
  input: ActionInput,
  target: T,
  req: Request,
  res: Response,
) => Promise<BlResponse>;

/**
 * The handler of a route whose work runs inside the collection hooks (Business Logic): the route
 * names its operation once, and this runs `target`, then the hook pipeline (pre hooks, `action`,
 * post hooks; master credentials with X-Kinvey-Skip-Business-Logic skip the hooks) and sends its
 * answer. Hooks and the action see the request's body and URL parameters (inputOf).
 */
export function hookedRoute<T extends HookTarget>(
  hooks: HookPipeline,
  operation: HookOperation,
  target: (req: Request, res: Response) => T,
  action: HookedAction<T>,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const found = target(req, res);
    const call = hookedCall(req, res, found.collection, operation, found.entityId);
    sendBlResponse(res, await hooks.run(call, inputOf(req), (input) => action(input, found, req, res)));
  };
}

/**
 * The target of a route on one fixed collection (`user`, `_blob`): the entity is the path
 * parameter `idParam` when the route has one.
 */
export function collectionTarget(collection: string, idParam = 'id'): (req: Request) => HookTarget {
  return (req) => {
    // Express 5 path parameters are strings (a wildcard's an array, which these routes do not use).
    const id: unknown = req.params[idParam];
    return typeof id === 'string' ? { collection, entityId: id } : { collection };
  };
}
