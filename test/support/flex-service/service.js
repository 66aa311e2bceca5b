// A real Flex service built with kinvey-flex-sdk, for kinbase's Flex client tests
// (test/integration/flex-client.test.ts starts it through test/support/flex-service.ts).
// Env: PORT (the sdk's receiver turns 0 into 10001, so the harness picks a free port), FLEX_SECRET.
const { setTimeout } = require('node:timers');
const sdk = require('kinvey-flex-sdk');

const port = Number(process.env.PORT);
if (!port) {
  console.error('PORT is required');
  process.exit(2);
}

sdk.service({ host: '127.0.0.1', port, sharedSecret: process.env.FLEX_SECRET }, (err, flex) => {
  if (err) {
    console.error(`flex service failed to start: ${err}`);
    process.exit(1);
  }
  const fns = flex.functions;

  // Everything the handler saw of the request, so tests can check the wire.
  fns.register('echo', (context, complete, modules) => {
    modules.tempObjectStore.set('echoed', true);
    complete({
      body: context.body,
      method: context.method,
      headers: context.headers,
      username: context.username,
      userId: context.userId,
      objectName: context.objectName,
      entityId: context.entityId,
      hookType: context.hookType,
      query: context.query,
      appKey: modules.backendContext.getAppKey(),
      appSecret: modules.backendContext.getAppSecret(),
      masterSecret: modules.backendContext.getMasterSecret(),
      authenticatedUsername: modules.requestContext.getAuthenticatedUsername(),
      securityContext: modules.requestContext.getSecurityContext(),
      customRequestProperties: modules.requestContext.getCustomRequestProperties(),
      tempObjectStore: modules.tempObjectStore.getAll(),
    })
      .ok()
      .done();
  });

  fns.register('stampPreSave', (context, complete) => {
    context.body.stamped = 'by flex';
    complete(context.body).next();
  });

  fns.register('limitQuery', (context, complete) => {
    complete()
      .setQuery(Object.assign({}, context.query, { limit: 1, query: { stamped: 'by flex' } }))
      .next();
  });

  // Post hooks see the backend's response as context.body.
  fns.register('addPostField', (context, complete) => {
    const body = context.body;
    body.postField = `after ${context.method}`;
    complete(body).next();
  });

  fns.register('answerInstead', (context, complete) => {
    complete({ answeredBy: 'flex' }).created().done();
  });

  fns.register('reject', (context, complete) => {
    complete().badRequest('nope').done();
  });

  fns.register('crash', (context, complete) => {
    complete().runtimeError(new Error('boom')).done();
  });

  // A synchronous throw reaches express's default handler: a 500 HTML page, not JSON.
  fns.register('throws', () => {
    throw new Error('thrown');
  });

  fns.register('slow', (context, complete) => {
    setTimeout(() => complete({ late: true }).ok().done(), 5000).unref();
  });

  // Reads an entity back from the backend through baasUrl and the master secret.
  fns.register('usesDataStore', (context, complete, modules) => {
    modules
      .dataStore()
      .collection(context.body.collection)
      .findById(context.body.id, (error, entity) => {
        if (error) return complete().runtimeError(`${error.message}: ${error.description} (${error.debug})`).done();
        return complete(entity).ok().done();
      });
  });

  // Kinvey's roles from Flex: grants a role with userStore.assignRole, then reads it back through
  // userStore.listRoles and roleStore.listMembers (all master-secret calls into kinbase).
  fns.register('usesRoles', (context, complete, modules) => {
    const { userId, roleId } = context.body;
    const users = modules.userStore();
    const roles = modules.roleStore();
    users
      .assignRole(userId, roleId)
      .then(() => Promise.all([users.listRoles(userId), roles.listMembers(roleId), roles.findById(roleId)]))
      .then(([userRoles, members, role]) => complete({ userRoles, members, role }).ok().done())
      .catch((error) => complete().runtimeError(`${error.message}: ${error.description} (${error.debug})`).done());
  });

  const widgets = new Map();
  let nextId = 1;
  const matches = (entity, filter) => Object.keys(filter).every((key) => entity[key] === filter[key]);
  const filtered = (query) => {
    const filter = query && query.query ? JSON.parse(query.query) : {};
    return [...widgets.values()].filter((entity) => matches(entity, filter));
  };
  const widget = flex.data.serviceObject('widgets');
  widget.onGetAll((request, complete) =>
    complete([...widgets.values()])
      .ok()
      .done(),
  );
  widget.onGetByQuery((request, complete) => {
    let list = filtered(request.query);
    if (request.query.limit) list = list.slice(0, Number(request.query.limit));
    complete(list).ok().done();
  });
  widget.onGetById((request, complete) => {
    const entity = widgets.get(request.entityId);
    return entity ? complete(entity).ok().done() : complete().notFound(`no widget ${request.entityId}`).done();
  });
  widget.onGetCount((request, complete) => complete({ count: widgets.size }).ok().done());
  widget.onGetCountByQuery((request, complete) =>
    complete({ count: filtered(request.query).length })
      .ok()
      .done(),
  );
  widget.onInsert((request, complete) => {
    const entity = Object.assign({ _id: `w${nextId++}` }, request.body);
    widgets.set(entity._id, entity);
    complete(entity).created().done();
  });
  widget.onUpdate((request, complete) => {
    if (!widgets.has(request.entityId)) return complete().notFound(`no widget ${request.entityId}`).done();
    const entity = Object.assign({}, request.body, { _id: request.entityId });
    widgets.set(entity._id, entity);
    return complete(entity).ok().done();
  });
  widget.onDeleteById((request, complete) => {
    const count = widgets.delete(request.entityId) ? 1 : 0;
    complete({ count }).ok().done();
  });
  widget.onDeleteByQuery((request, complete) => {
    const gone = filtered(request.query);
    gone.forEach((entity) => widgets.delete(entity._id));
    complete({ count: gone.length }).ok().done();
  });

  // A service object that implements onDeleteAll: a call that lands on it wipes every gizmo.
  const gizmos = new Map();
  const gizmo = flex.data.serviceObject('gizmos');
  gizmo.onGetAll((request, complete) =>
    complete([...gizmos.values()])
      .ok()
      .done(),
  );
  gizmo.onGetById((request, complete) => {
    const entity = gizmos.get(request.entityId);
    return entity ? complete(entity).ok().done() : complete().notFound(`no gizmo ${request.entityId}`).done();
  });
  gizmo.onInsert((request, complete) => {
    const entity = Object.assign({ _id: `g${gizmos.size + 1}` }, request.body);
    gizmos.set(entity._id, entity);
    complete(entity).created().done();
  });
  gizmo.onUpdate((request, complete) => {
    const entity = Object.assign({}, request.body, { _id: request.entityId });
    gizmos.set(entity._id, entity);
    complete(entity).ok().done();
  });
  gizmo.onDeleteById((request, complete) =>
    complete({ count: gizmos.delete(request.entityId) ? 1 : 0 })
      .ok()
      .done(),
  );
  gizmo.onDeleteAll((request, complete) => {
    const count = gizmos.size;
    gizmos.clear();
    complete({ count }).ok().done();
  });

  flex.auth.register('auth', (context, complete) => {
    if (context.body.username === 'flexuser' && context.body.password === 'flexpass') {
      return complete().setToken({ user: context.body.username }).ok().next();
    }
    return complete().accessDenied('wrong username or password').next();
  });

  console.log(`flex service ready on 127.0.0.1:${port}`);
});
