/**
 * Kinvey's hook pipeline (kinvey-protocol.md §7): pre hooks, the store action, post hooks. The
 * functions here are plain BusinessLogicFunction implementations (the port the sandbox and the
 * Flex client implement); the end-to-end tests run the same pipeline with real code.
 */
import type { AppFunctions } from '../../src/business-logic/app-functions';
import { HookPipeline, type HookedCall } from '../../src/business-logic/hooks/hook-pipeline';
import type {
  BlInvocation,
  BlOutcome,
  BlRequest,
  BusinessLogicFunction,
  CollectionHookName,
} from '../../src/business-logic/types';
import { errors, KinveyError } from '../../src/domain/errors';

const request: BlRequest = {
  method: 'POST',
  headers: {},
  body: { title: 'a' },
  params: {},
  username: 'ann',
  userId: 'u1',
  appKey: 'kid',
  collectionName: 'books',
};

function fn(behaviour: (inv: BlInvocation) => BlOutcome | Promise<BlOutcome>, seen: string[]): BusinessLogicFunction {
  return {
    run: async (inv) => {
      seen.push(inv.functionName);
      return behaviour(inv);
    },
  };
}

function pipelineWith(hooks: Partial<Record<CollectionHookName, BusinessLogicFunction>>): HookPipeline {
  const functions: AppFunctions = {
    hooks: new Map([['books', new Map(Object.entries(hooks) as Array<[CollectionHookName, BusinessLogicFunction]>)]]),
    endpoints: new Map(),
    externalCollections: new Map(),
  };
  return new HookPipeline((appKey) => (appKey === 'kid' ? functions : undefined));
}

const call = (operation: HookedCall['operation'], skip = false): HookedCall => ({
  appKey: 'kid',
  collection: 'books',
  operation,
  caller: 'user:u1',
  skip,
  request: () => request,
});
const cont = (inv: BlInvocation): BlOutcome => ({ request: inv.request, response: inv.response, continue: true });

describe('collection hook pipeline', () => {
  test('an insert runs onPreSave, onPreInsert, the action, onPostInsert, onPostSave in that order', async () => {
    const seen: string[] = [];
    const pipeline = pipelineWith({
      onPreSave: fn(cont, seen),
      onPreInsert: fn(cont, seen),
      onPostInsert: fn(cont, seen),
      onPostSave: fn(cont, seen),
      onPreUpdate: fn(cont, seen),
    });
    await pipeline.run(call('insert'), { body: {}, params: {} }, async () => {
      seen.push('action');
      return { status: 201, headers: {}, body: {} };
    });
    expect(seen).toEqual(['onPreSave', 'onPreInsert', 'action', 'onPostInsert', 'onPostSave']);
  });

  test('a pre hook that completes answers instead of the action, and no post hook runs', async () => {
    const seen: string[] = [];
    const pipeline = pipelineWith({
      onPreSave: fn(
        (inv) => ({
          request: inv.request,
          response: { status: 202, headers: {}, body: { cached: true } },
          continue: false,
        }),
        seen,
      ),
      onPostSave: fn(cont, seen),
    });
    const action = jest.fn();
    const answer = await pipeline.run(call('update'), { body: {}, params: {} }, action);
    expect(answer).toEqual({ status: 202, headers: {}, body: { cached: true } });
    expect(action).not.toHaveBeenCalled();
    expect(seen).toEqual(['onPreSave']);
  });

  test('a pre hook changes the body the action saves, but not who asks', async () => {
    const pipeline = pipelineWith({
      onPreSave: fn(
        (inv) => ({
          request: { ...inv.request, body: { title: 'b' }, username: 'root', userId: 'admin', appKey: 'other' },
          response: inv.response,
          continue: true,
        }),
        [],
      ),
      onPostSave: fn((inv) => {
        expect(inv.request).toMatchObject({ username: 'ann', userId: 'u1', appKey: 'kid' });
        return cont(inv);
      }, []),
    });
    let saved: unknown;
    await pipeline.run(call('insert'), { body: request.body, params: {} }, async ({ body }) => {
      saved = body;
      return { status: 201, headers: {}, body };
    });
    expect(saved).toEqual({ title: 'b' });
  });

  test('an error of the action skips the post hooks and reaches the client', async () => {
    const seen: string[] = [];
    const pipeline = pipelineWith({ onPreFetch: fn(cont, seen), onPostFetch: fn(cont, seen) });
    await expect(
      pipeline.run(call('fetch'), { body: {}, params: {} }, async () => {
        throw errors.entityNotFound();
      }),
    ).rejects.toMatchObject({ error: 'EntityNotFound' });
    expect(seen).toEqual(['onPreFetch']);
  });

  test('a post hook sees the plain JSON the client would get and may change it', async () => {
    const pipeline = pipelineWith({
      onPostFetch: fn(
        (inv) => ({
          request: inv.request,
          response: { ...inv.response, body: { ...(inv.response.body as object), extra: 1 } },
          continue: true,
        }),
        [],
      ),
    });
    const answer = await pipeline.run(
      { ...call('fetch'), plain: (body) => JSON.parse(JSON.stringify(body)) },
      { body: {}, params: {} },
      async () => ({ status: 200, headers: {}, body: { when: new Date(0) } }),
    );
    expect(answer.body).toEqual({ when: '1970-01-01T00:00:00.000Z', extra: 1 });
  });

  test('X-Kinvey-Skip-Business-Logic (skip) runs the action alone', async () => {
    const seen: string[] = [];
    const pipeline = pipelineWith({ onPreDelete: fn(cont, seen), onPostDelete: fn(cont, seen) });
    await pipeline.run(call('delete', true), { body: {}, params: {} }, async () => ({
      status: 200,
      headers: {},
      body: { count: 1 },
    }));
    expect(seen).toEqual([]);
  });

  test('a hook that sets a status that is not HTTP gives BLRuntimeError', async () => {
    const pipeline = pipelineWith({
      onPreFetch: fn(
        (inv) => ({ request: inv.request, response: { status: 99999, headers: {}, body: {} }, continue: false }),
        [],
      ),
    });
    const failure = await pipeline
      .run(call('fetch'), { body: {}, params: {} }, async () => ({ status: 200, headers: {}, body: {} }))
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(KinveyError);
    expect(failure).toMatchObject({ error: 'BLRuntimeError', status: 550 });
  });

  test('onLoginFailure sees the failed login and the client still gets the login error', async () => {
    const seen: string[] = [];
    const pipeline = pipelineWith({
      onLoginFailure: fn((inv) => {
        expect(inv.response).toMatchObject({ status: 401, body: { error: 'InvalidCredentials' } });
        return cont(inv);
      }, seen),
    });
    await expect(pipeline.loginFailed(call('login'), errors.invalidCredentials())).rejects.toMatchObject({
      error: 'InvalidCredentials',
    });
    expect(seen).toEqual(['onLoginFailure']);
  });
});
