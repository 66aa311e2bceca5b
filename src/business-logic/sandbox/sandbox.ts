/**
 * The sandbox for internal Business Logic: runs Kinvey's `function onPreSave(request, response,
 * modules)` code unchanged in isolated-vm isolates (no Node APIs: no process, env, files or
 * network beyond the modules), with a time and a memory limit per call. Each app gets its own
 * small pool of warm isolates; a call that fails in any way gets a 550 KinveyError for itself only.
 *
 * State: `request`, `response` and the tempObjectStore view are fresh per call, but the function
 * script (common code included) is evaluated once per isolate, so its top-level variables persist
 * between calls that land on the same isolate, as globals of a long-running process would.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DocumentStore } from '../../domain/ports';
import { errors, isKinveyError, KinveyError } from '../../domain/errors';
import { isReservedKey } from '../../domain/access/safe-keys';
import {
  COLLECTION_HOOKS,
  type BlInvocation,
  type BlOutcome,
  type BusinessLogicFunction,
  type FunctionSpec,
} from '../types';
import { CollectionAccess } from './collection-access';
import { IsolatePool, type IsolatePoolOptions, type IsolatePoolStats } from './isolate-pool';
import { IsolateTemplate } from './isolate-template';
import { IsolateWorker, type CallResult } from './isolate-worker';

export interface SandboxLimits {
  /**
   * One call's run, from the moment it has an isolate (loading its script and awaiting
   * response.continue() included, the wait for a free isolate not). Default 2000.
   */
  timeoutMs?: number;
  /** Heap limit of each isolate, in MB. Default 64. */
  memoryMb?: number;
  /** Warm isolates per app, i.e. calls of one app running at once. Default 2. */
  isolatesPerApp?: number;
  /**
   * How long a call may wait for a free isolate. Default twice `timeoutMs`: a call of a caller
   * holding no isolate gets the next one to come free, within one time limit of any running call.
   */
  waitMs?: number;
  /** Calls of one caller that may wait for an isolate of an app; more are refused at once. Default 16. */
  queuePerCaller?: number;
}

export interface SandboxDeps {
  documents: DocumentStore;
  logger: Logger;
  limits?: SandboxLimits;
}

export type InternalFunctionSpec = Extract<FunctionSpec, { type: 'internal' }>;

const FUNCTION_NAMES = [...COLLECTION_HOOKS, 'onRequest'] as const;

/** The caller warm() acquires an isolate as (no client's key can look like it: see callerOf). */
const WARM_UP_CALLER = '(warm-up)';

/**
 * Request headers that carry credentials, which internal code never sees: a hook that logs its
 * `request` must not write the client's session token or secret into the log, and nothing kinbase's
 * modules offer needs them (requestContext says who asks). Flex services still get them: their
 * modules call back with the user's own credentials (`useUserContext`).
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

interface CompiledScript {
  readonly source: string;
  readonly key: string;
  readonly lineOffset: number;
}

export class Sandbox {
  private readonly pools = new Map<string, IsolatePool>();
  private readonly template = new IsolateTemplate();
  private readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly pool: IsolatePoolOptions;
  private closed = false;

  constructor(private readonly deps: SandboxDeps) {
    this.timeoutMs = deps.limits?.timeoutMs ?? 2000;
    this.memoryMb = deps.limits?.memoryMb ?? 64;
    this.pool = {
      size: deps.limits?.isolatesPerApp ?? 2,
      waitMs: deps.limits?.waitMs ?? 2 * this.timeoutMs,
      queuePerCaller: deps.limits?.queuePerCaller ?? 16,
    };
  }

  /**
   * The function for one hook or endpoint of `appKey`. Cheap: nothing compiles until the first
   * call. Its `run` rejects only with 550 KinveyErrors: BLSyntaxError (does not compile, or does not
   * define the invoked function), BLRuntimeError (threw), BLTimeoutError (too slow, or never ended
   * the call, or waited too long for a free isolate), BLViolationError (memory limit),
   * BLInternalError (sandbox closed or broken). Isolates are shared fairly between the callers of
   * the app (`invocation.caller`, see IsolatePool).
   */
  functionFor(
    appKey: string,
    spec: InternalFunctionSpec,
    commonCode: ReadonlyArray<{ name: string; code: string }>,
  ): BusinessLogicFunction {
    let compiled: CompiledScript | undefined;
    let syntaxError: KinveyError | undefined;
    const logger = this.deps.logger.child({ appKey, origin: spec.origin });
    const collections = new CollectionAccess(this.deps.documents, appKey);
    return {
      run: async (invocation: BlInvocation): Promise<BlOutcome> => {
        // The pool and the data scope come from the configuration, never from the invocation.
        if (invocation.appKey !== appKey) throw errors.blInternalError(`${spec.origin} was invoked for another app.`);
        if (syntaxError) throw syntaxError;
        compiled ??= buildScript(spec, commonCode);
        const pool = this.poolFor(appKey);
        const worker = await pool.acquire(invocation.caller, spec.origin).catch((err: unknown) => {
          throw asBlError(err, spec.origin);
        });
        // The time limit starts now: waiting behind other callers' calls (or for kinbase to create
        // the isolate) is not the function's time, so another caller's load cannot time it out.
        const deadline = Date.now() + this.timeoutMs;
        try {
          await worker.ensureDefined(compiled, spec.origin, deadline);
          const result = await worker.run({
            key: compiled.key,
            functionName: invocation.functionName,
            payloadText: JSON.stringify({
              request: withoutCredentials(invocation.request),
              response: invocation.response,
              tempObjectStore: invocation.tempObjectStore,
            }),
            origin: spec.origin,
            deadline,
            host: { logger, collections },
          });
          return toOutcome(result, invocation, spec.origin);
        } catch (err) {
          const failure = asBlError(err, spec.origin);
          if (failure.error === 'BLSyntaxError' && failure.debug.includes('does not compile')) syntaxError = failure;
          throw failure;
        } finally {
          pool.release(worker);
        }
      },
    };
  }

  /**
   * Starts one isolate of the app ahead of its first call (the server does it at start for apps
   * with internal code), so the first request does not wait for it. Never rejects; a failure is
   * logged and the first call tries again.
   */
  async warm(appKey: string): Promise<void> {
    if (this.closed) return;
    const pool = this.poolFor(appKey);
    try {
      pool.release(await pool.acquire(WARM_UP_CALLER, `${appKey} warm-up`));
    } catch (err) {
      this.deps.logger.warn({ err, appKey }, 'could not start a Business Logic isolate ahead of time');
    }
  }

  /** What the app's isolate pool is doing now: isolates held and calls waiting, by caller. */
  stats(appKey: string): IsolatePoolStats {
    return this.pools.get(appKey)?.stats() ?? { held: {}, waiting: {} };
  }

  /** Disposes every isolate; calls running now end with BLInternalError, later ones too. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private poolFor(appKey: string): IsolatePool {
    let pool = this.pools.get(appKey);
    if (!pool) {
      if (this.closed) throw errors.blInternalError('The sandbox is closed.');
      pool = new IsolatePool(() => IsolateWorker.create(this.template, this.memoryMb), this.pool);
      this.pools.set(appKey, pool);
    }
    return pool;
  }
}

/**
 * One script per function: common code then the function's code, inside one function scope (so
 * two collections' `onPreSave` never collide), answering the Kinvey function names it defines.
 */
function buildScript(
  spec: InternalFunctionSpec,
  commonCode: ReadonlyArray<{ name: string; code: string }>,
): CompiledScript {
  const names = FUNCTION_NAMES.map((name) => `${name}: typeof ${name} === 'function' ? ${name} : undefined`).join(
    ',\n',
  );
  const common = commonCode
    .map((c) => `// commonCode ${c.name.replace(/[\r\n\u2028\u2029]/g, ' ')}\n${c.code}\n;`)
    .join('\n');
  const prefix = `(function () {\n${common}\n`;
  const source = `${prefix}${spec.code}\n;\nreturn {\n${names}\n};\n})`;
  // Line numbers in errors count from the function's own first line (common code gets lines <= 0).
  const lineOffset = -(prefix.split('\n').length - 1);
  return { source, lineOffset, key: createHash('sha256').update(`${lineOffset}\n${source}`).digest('hex') };
}

/** Where a runtime error happened in the function's own code, from the isolate's stack trace. */
function locationIn(stack: string, origin: string): string {
  const at = stack.indexOf(`${origin}.js:`);
  const line = at < 0 ? NaN : Number.parseInt(stack.slice(at + origin.length + 4), 10);
  return line >= 1 ? ` (line ${line})` : '';
}

function toOutcome(result: CallResult, invocation: BlInvocation, origin: string): BlOutcome {
  if (result.kind === 'undefinedFunction')
    throw errors.blSyntaxError(`${origin} does not define function ${invocation.functionName}.`);
  if (result.kind === 'error')
    throw errors.blRuntimeError(
      `${origin}: ${result.error.name}: ${result.error.message}${locationIn(result.error.stack, origin)}`,
    );
  const status = result.response.status;
  const validStatus = Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 599;
  if (!result.continue && !validStatus)
    throw errors.blRuntimeError(
      `${origin}: response.status must be an HTTP status code (100-599), not ${JSON.stringify(status)?.slice(0, 40)}.`,
    );
  writeBack(invocation.tempObjectStore, result.tempObjectStore ?? {});
  return {
    continue: result.continue,
    // Hooks may change body, params and headers; who is asking and for what stays the server's.
    // The credential headers the hook never saw stay the client's (and a hook cannot set its own).
    request: {
      ...invocation.request,
      body: result.request.body,
      params: stringRecord(result.request.params),
      headers: {
        ...credentialHeaders(stringRecord(result.request.headers), false),
        ...credentialHeaders(invocation.request.headers, true),
      },
    },
    response: {
      status: validStatus ? (status as number) : invocation.response.status,
      headers: stringRecord(result.response.headers),
      body: result.response.body,
    },
  };
}

/** The request as internal code sees it: without the headers that carry credentials. */
function withoutCredentials(request: BlInvocation['request']): BlInvocation['request'] {
  return { ...request, headers: credentialHeaders(request.headers, false) };
}

/** The headers that carry credentials (`wanted` true), or all the others. */
function credentialHeaders(headers: Record<string, string>, wanted: boolean): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => CREDENTIAL_HEADERS.has(name.toLowerCase()) === wanted),
  );
}

/** Header- and param-like maps: string values only, and never a `__proto__`-style key. */
function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return record;
  for (const [key, item] of Object.entries(value)) {
    if (isReservedKey(key)) continue;
    if (typeof item === 'string') record[key] = item;
    else if (typeof item === 'number' || typeof item === 'boolean') record[key] = String(item);
  }
  return record;
}

/** The request's shared tempObjectStore takes the call's final state (reserved keys skipped). */
function writeBack(target: Record<string, unknown>, state: Record<string, unknown>): void {
  for (const key of Object.keys(target)) if (!Object.hasOwn(state, key)) delete target[key];
  for (const [key, value] of Object.entries(state)) if (!isReservedKey(key)) target[key] = value;
}

function asBlError(err: unknown, origin: string): KinveyError {
  if (isKinveyError(err) && err.status === 550) return err;
  return errors.blInternalError(`${origin}: ${err instanceof Error ? err.message : String(err)}`);
}
