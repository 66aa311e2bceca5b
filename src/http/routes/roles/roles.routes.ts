import { Router } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import type { RolesService } from '../../../domain/roles/roles.service';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { principalOf } from '../../middleware/locals';

export interface RoleRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  roles: RolesService;
}

/**
 * Kinvey's roles API and users' role memberships, master credentials only (Kinvey: "you can
 * access the roles API only by using the master secret"), so no user can grant a role, least of
 * all to themselves: `/roles/:appKey[/:roleId[/membership]]` and `/user/:appKey/:userId/roles[/:roleId]`.
 */
export function roleRoutes({ apps, sessions, roles }: RoleRoutesDeps): Router {
  const router = Router();
  const base = '/roles/:appKey';
  const userRoles = '/user/:appKey/:userId/roles';
  router.use([base, userRoles], withApp(apps), requireAuth(sessions, 'master'));

  router.post(base, async (req, res) => {
    const { appKey } = principalOf(res);
    const role = await roles.create(appKey, req.body);
    res
      .status(201)
      .location(`/roles/${encodeURIComponent(appKey)}/${encodeURIComponent(role._id)}`)
      .json(role);
  });

  router.get(base, async (_req, res) => {
    res.json(await roles.list(principalOf(res).appKey));
  });

  router.get(`${base}/:roleId`, async (req, res) => {
    res.json(await roles.get(principalOf(res).appKey, String(req.params.roleId)));
  });

  router.put(`${base}/:roleId`, async (req, res) => {
    res.json(await roles.update(principalOf(res).appKey, String(req.params.roleId), req.body));
  });

  router.delete(`${base}/:roleId`, async (req, res) => {
    await roles.remove(principalOf(res).appKey, String(req.params.roleId));
    res.status(204).end();
  });

  router.get(`${base}/:roleId/membership`, async (req, res) => {
    res.json(await roles.membersOf(principalOf(res).appKey, String(req.params.roleId)));
  });

  router.get(userRoles, async (req, res) => {
    res.json(await roles.rolesOf(principalOf(res).appKey, String(req.params.userId)));
  });

  router.put(`${userRoles}/:roleId`, async (req, res) => {
    const principal = principalOf(res);
    await roles.grant(principal.appKey, String(req.params.userId), String(req.params.roleId), principal.appKey);
    res.status(204).end();
  });

  router.delete(`${userRoles}/:roleId`, async (req, res) => {
    await roles.revoke(principalOf(res).appKey, String(req.params.userId), String(req.params.roleId));
    res.status(204).end();
  });

  return router;
}
