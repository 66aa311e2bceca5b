/**
 * One warm V8 isolate (isolated-vm) with the bootstrap and the libraries loaded, running one call
 * at a time. Everything runs through isolated-vm's async APIs, so hook code runs on isolated-vm's
 * threads and never on the main event loop. A call that runs out of time or memory leaves the
 * isolate disposed (`alive` false); the pool replaces it.
 */
import ivm from 'isolated-vm';
import { errors, isKinveyError, type KinveyError } from '../../domain/errors';
import type { IsolateTemplate } from './isolate-template';
import { HostCall, type HostCallDeps } from './modules-host';

/** Limit for loading the bootstrap and libraries into a new isolate (they take a few ms). */
const SETUP_TIMEOUT_MS = 10_000;
/** How often a call waiting for response.continue() checks whether its isolate died of memory. */
const DISPOSAL_POLL_MS = 20;

/** What the isolate side answers for a call (isolate/bootstrap.js `run`). */
export type CallResult =
  | {
      kind: 'done';
      continue: boolean;
      request: { body?: unknown; params?: unknown; headers?: unknown };
      response: { status?: unknown; headers?: unknown; body?: unknown };
      tempObjectStore?: Record<string, unknown>;
    }
  | { kind: 'error'; error: { name: string; message: string; stack: string } }
  | { kind: 'undefinedFunction' };

export interface RunArgs {
  readonly key: string;
  readonly functionName: string;
  readonly payloadText: string;
  readonly origin: string;
  readonly deadline: number;
  readonly host: Omit<HostCallDeps, 'id' | 'deadline' | 'origin'>;
}

type DisposedBy = 'timeout' | 'closed' | 'failure';

export class IsolateWorker {
  private readonly defined = new Set<string>();
  private current: HostCall | null = null;
  private nextCallId = 1;
  private disposedBy: DisposedBy | null = null;

  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly refs: {
      readonly define: ivm.Reference;
      readonly run: ivm.Reference;
      readonly reply: ivm.Reference;
    },
    private readonly context: ivm.Context,
    private readonly memoryMb: number,
  ) {}

  /** A new isolate of `memoryMb` MB with the bootstrap, lodash, moment and async loaded. */
  static async create(template: IsolateTemplate, memoryMb: number): Promise<IsolateWorker> {
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    try {
      const context = await isolate.createContext();
      const holder: { worker?: IsolateWorker } = {};
      // The only two functions of the host realm the isolate ever holds; both take and give strings.
      const hostCall = new ivm.Callback(
        (callId: number, requestId: number, op: string, text: string) =>
          holder.worker?.hostCall(callId, requestId, op, text),
        { ignored: true },
      );
      const hostNotify = new ivm.Callback((callId: number, text: string) => holder.worker?.notify(callId, text), {
        ignored: true,
      });
      const boot = await template.compile(isolate, template.bootstrap);
      const bootFn = await boot.run(context, { reference: true, timeout: SETUP_TIMEOUT_MS });
      const api = (await bootFn.apply(undefined, [hostCall, hostNotify], {
        result: { reference: true },
        timeout: SETUP_TIMEOUT_MS,
      })) as ivm.Reference<Record<string, unknown>>;
      for (const library of template.libraries) {
        const script = await template.compile(isolate, library);
        await script.run(context, { timeout: SETUP_TIMEOUT_MS });
        script.release();
      }
      const attached = await (
        await api.get('attach', { reference: true })
      ).apply(undefined, [], { timeout: SETUP_TIMEOUT_MS });
      if (attached !== true) throw new Error('lodash, moment or async did not load in the sandbox');
      const refs = {
        define: await api.get('define', { reference: true }),
        run: await api.get('run', { reference: true }),
        reply: await api.get('reply', { reference: true }),
      };
      const worker = new IsolateWorker(isolate, refs, context, memoryMb);
      holder.worker = worker;
      return worker;
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /** False once the isolate was disposed (time or memory limit, failure, close). */
  get alive(): boolean {
    return !this.isolate.isDisposed;
  }

  /**
   * Compiles and evaluates a function script (common code + function code, see sandbox.ts) once
   * per isolate. Throws BLSyntaxError if it does not compile, BLRuntimeError if its top-level code
   * throws, BLTimeoutError / BLViolationError past the deadline or the memory limit.
   */
  async ensureDefined(
    compiled: { readonly key: string; readonly source: string; readonly lineOffset: number },
    origin: string,
    deadline: number,
  ): Promise<void> {
    const { key, source, lineOffset } = compiled;
    if (this.defined.has(key)) return;
    let script: ivm.Script;
    try {
      script = await this.isolate.compileScript(source, { filename: `${origin}.js`, lineOffset });
    } catch (err) {
      if (this.isolate.isDisposed) throw this.translate(err, origin, 'loading');
      throw errors.blSyntaxError(`${origin} does not compile: ${messageOf(err)}`);
    }
    try {
      const factory = await this.guarded(
        script.run(this.context, { timeout: remaining(deadline), reference: true }),
        deadline,
        origin,
        'loading',
      );
      const text = await this.guarded(
        this.refs.define.apply(undefined, [key, factory.derefInto()], { timeout: remaining(deadline) }),
        deadline,
        origin,
        'loading',
      );
      factory.release();
      // The isolate answers a JSON string (isolate runtime's define); JSON.parse reads nothing else.
      const result = JSON.parse(text as string) as CallResult;
      if (result.kind === 'error')
        throw errors.blRuntimeError(`${origin}: ${result.error.name}: ${result.error.message}`);
      this.defined.add(key);
    } finally {
      script.release();
    }
  }

  /** Runs one call; resolves with the isolate's answer or throws a 550 KinveyError. */
  async run(args: RunArgs): Promise<CallResult> {
    const call = new HostCall({ ...args.host, id: this.nextCallId++, deadline: args.deadline, origin: args.origin });
    this.current = call;
    try {
      const sync = await this.guarded(
        this.refs.run.apply(undefined, [call.id, args.key, args.functionName, args.payloadText], {
          timeout: remaining(args.deadline),
        }),
        args.deadline,
        args.origin,
        'running',
      );
      if (sync !== 'pending') return JSON.parse(sync as string) as CallResult; // run answers JSON text or 'pending'
      return JSON.parse(await this.guarded(call.completion, args.deadline, args.origin, 'waiting')) as CallResult;
    } finally {
      call.end();
      if (this.current === call) this.current = null;
    }
  }

  dispose(by: DisposedBy = 'closed'): void {
    this.disposedBy ??= by;
    this.current?.end();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }

  private hostCall(callId: number, requestId: number, op: string, text: string): void {
    // A request of a call that already ended (a late callback) is dropped, never run.
    const call = this.current;
    if (!call || call.id !== callId) return;
    void call.handle(String(op), String(text)).then((answer) => {
      if (this.current !== call || !call.active || !this.alive) return;
      // The answer runs hook callbacks inside the isolate: under the call's time limit too.
      this.refs.reply
        .apply(undefined, [callId, requestId, answer], { timeout: remaining(call.deadline) })
        .catch((err: unknown) => call.fail(this.translate(err, call.origin, 'running')));
    });
  }

  private notify(callId: number, text: string): void {
    if (this.current?.id === callId) this.current.notify(String(text));
  }

  /**
   * Waits for `work`, but never past the deadline (then the isolate, which may still be looping, is
   * disposed) and never past the isolate's death from its memory limit; isolated-vm's own errors
   * become 550 KinveyErrors.
   */
  private async guarded<T>(
    work: Promise<T>,
    deadline: number,
    origin: string,
    phase: 'loading' | 'running' | 'waiting',
  ): Promise<T> {
    work.catch(() => undefined); // it may reject after the deadline won the race
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const diedOfMemory = this.isolate.isDisposed && this.disposedBy === null;
        this.dispose('timeout');
        reject(diedOfMemory ? this.violation(origin) : timeoutFor(origin, phase));
      }, remaining(deadline));
      if (phase === 'waiting') {
        poll = setInterval(() => {
          if (this.isolate.isDisposed) reject(this.translate(new Error('disposed'), origin, phase));
        }, DISPOSAL_POLL_MS);
      }
    });
    try {
      return await Promise.race([work, stopped]);
    } catch (err) {
      throw this.translate(err, origin, phase);
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
    }
  }

  private translate(err: unknown, origin: string, phase: 'loading' | 'running' | 'waiting'): KinveyError {
    if (isKinveyError(err)) return err;
    if (this.disposedBy === 'closed')
      return errors.blInternalError(`${origin}: the sandbox was closed during the call.`);
    if (this.disposedBy === 'timeout') return timeoutFor(origin, phase);
    const message = messageOf(err);
    // isolated-vm disposes an isolate by itself only when it exceeds its memory limit.
    if (this.isolate.isDisposed || /memory limit/i.test(message)) return this.violation(origin);
    if (/timed out/i.test(message)) {
      this.dispose('timeout');
      return timeoutFor(origin, phase);
    }
    this.dispose('failure');
    return errors.blInternalError(`${origin}: ${message}`);
  }

  private violation(origin: string): KinveyError {
    this.disposedBy ??= 'failure';
    return errors.blViolationError(`${origin} exceeded the memory limit of ${this.memoryMb} MB.`);
  }
}

function timeoutFor(origin: string, phase: 'loading' | 'running' | 'waiting'): KinveyError {
  const what =
    phase === 'waiting'
      ? 'did not call response.continue(), response.complete() or response.error() in time'
      : phase === 'loading'
        ? 'did not finish loading in time'
        : 'ran out of time';
  return errors.blTimeoutError(`${origin} ${what}.`);
}

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
}
