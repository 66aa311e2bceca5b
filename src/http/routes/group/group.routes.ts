import { Router } from 'express';
import type { AppRegistry } from '../../../domain/apps/app-registry';
import { parseGroupPage, type GroupsService } from '../../../domain/groups/groups.service';
import { requireAuth, withApp, type SessionVerifier } from '../../middleware/auth';
import { principalOf } from '../../middleware/locals';

export interface GroupRoutesDeps {
  apps: AppRegistry;
  sessions: SessionVerifier;
  groups: GroupsService;
}

/** `/group/:appKey`: user groups, managed by their creator or with master credentials; listed by master only. */
export function groupRoutes({ apps, sessions, groups }: GroupRoutesDeps): Router {
  const router = Router();
  const base = '/group/:appKey';
  router.use(base, withApp(apps), requireAuth(sessions, 'session-or-master'));

  router.post(base, async (req, res) => {
    const principal = principalOf(res);
    const group = await groups.create(principal.appKey, principal, req.body);
    res
      .status(201)
      .location(`/group/${encodeURIComponent(principal.appKey)}/${encodeURIComponent(group._id)}`)
      .json(group);
  });

  router.get(base, async (req, res) => {
    const principal = principalOf(res);
    res.json(await groups.list(principal.appKey, principal, parseGroupPage(req.query)));
  });

  router.get(`${base}/:id`, async (req, res) => {
    const principal = principalOf(res);
    res.json(await groups.get(principal.appKey, principal, String(req.params.id)));
  });

  router.put(`${base}/:id`, async (req, res) => {
    const principal = principalOf(res);
    res.json(await groups.replace(principal.appKey, principal, String(req.params.id), req.body));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const principal = principalOf(res);
    await groups.remove(principal.appKey, principal, String(req.params.id));
    res.json({ count: 1 });
  });

  return router;
}
