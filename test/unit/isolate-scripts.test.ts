/**
 * The scripts that run inside the Business Logic isolates (src/business-logic/sandbox/isolate/)
 * as the host joins them: every file is part of the bootstrap, the bootstrap is one function whose
 * state hook code cannot reach, and a hook runs through its `run` entry point. Evaluated with
 * node:vm for speed; the real isolates are tested in test/security/bl-sandbox.security.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { isolateBootstrapSource } from '../../src/business-logic/sandbox/isolate-template';

const ISOLATE_DIR = path.join(__dirname, '..', '..', 'src', 'business-logic', 'sandbox', 'isolate');

interface EntryPoints {
  define(key: string, factory: () => Record<string, unknown>): string;
  run(callId: number, key: string, functionName: string, payloadText: string): string;
  reply(callId: number, requestId: number, answer: string): void;
  attach(): boolean;
}

/** Loads the bootstrap into a fresh context, as isolate-worker.ts does, with recording bridge callbacks. */
function boot(): { context: vm.Context; api: EntryPoints; hostCalls: unknown[][] } {
  const context = vm.createContext({});
  const hostCalls: unknown[][] = [];
  const bootFn = vm.runInContext(isolateBootstrapSource(), context) as (
    hostCall: unknown,
    hostNotify: unknown,
  ) => EntryPoints;
  const api = bootFn(
    (...args: unknown[]) => {
      hostCalls.push(args);
    },
    () => undefined,
  );
  return { context, api, hostCalls };
}

const payload = JSON.stringify({
  request: { headers: {}, body: { name: 'a' } },
  response: { headers: {} },
  tempObjectStore: {},
});

describe('sandbox isolate scripts', () => {
  test('every script of the isolate folder is part of the bootstrap the isolates load', () => {
    const source = isolateBootstrapSource();
    const scripts = readdirSync(ISOLATE_DIR).filter((name) => name.endsWith('.js'));
    expect(scripts.sort()).toEqual(['bootstrap.js', 'modules.js', 'utils.js']);
    for (const name of scripts) expect(source).toContain(readFileSync(path.join(ISOLATE_DIR, name), 'utf8'));
  });

  test('the bootstrap hands the host exactly define, run, reply and attach', () => {
    expect(Object.keys(boot().api).sort()).toEqual(['attach', 'define', 'reply', 'run']);
  });

  test('hook code sees none of the runtime state: the current call, the defined hooks and the host bridge are not globals', () => {
    const { context } = boot();
    for (const name of [
      'current',
      'defined',
      'ask',
      'finish',
      'hostCall',
      'hostNotify',
      'makeModules',
      'entryPoints',
    ]) {
      expect(vm.runInContext(`typeof ${name}`, context)).toBe('undefined');
    }
    // What the runtime does install are the timers and console every hook may use.
    expect(vm.runInContext('typeof setTimeout + typeof console.log', context)).toBe('functionfunction');
  });

  test('a hook runs through run(): its response.complete() ends the call with the status and body it set', () => {
    const { api } = boot();
    expect(
      JSON.parse(
        api.define('script', () => ({
          onRequest: (
            request: { body: { name: string } },
            response: { body: unknown; complete(status: number): void },
          ) => {
            response.body = { greeting: `hello ${request.body.name}` };
            response.complete(201);
          },
        })),
      ),
    ).toEqual({ kind: 'defined' });
    const outcome = JSON.parse(api.run(1, 'script', 'onRequest', payload)) as {
      kind: string;
      continue: boolean;
      response: unknown;
    };
    expect(outcome).toMatchObject({
      kind: 'done',
      continue: false,
      response: { status: 201, body: { greeting: 'hello a' } },
    });
    expect(JSON.parse(api.run(2, 'script', 'onMissing', payload))).toEqual({ kind: 'undefinedFunction' });
  });

  test('a hook that asks the host (a collection read) waits for reply() and ends asynchronously', async () => {
    const { api, hostCalls } = boot();
    api.define('script', () => ({
      onRequest: (
        _request: unknown,
        response: { continue(): void },
        modules: {
          collectionAccess: {
            collection(name: string): { find(query: object, cb: (err: unknown, docs: unknown) => void): void };
          };
        },
      ) => {
        modules.collectionAccess.collection('books').find({}, () => response.continue());
      },
    }));
    expect(api.run(7, 'script', 'onRequest', payload)).toBe('pending');
    expect(hostCalls).toEqual([
      [7, 1, 'collection', JSON.stringify({ collection: 'books', method: 'find', args: [{}, {}] })],
    ]);
  });
});
