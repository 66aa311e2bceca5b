/**
 * What every new isolate is loaded with: the bootstrap (the scripts in ./isolate/) and the real lodash,
 * moment and async builds, read from node_modules once per Sandbox. Each script's V8 code cache
 * is produced by the first isolate that compiles it and handed to the later ones, so replacing a
 * disposed isolate skips parsing about 200 KB of library code.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ivm from 'isolated-vm';

interface TemplateScript {
  readonly filename: string;
  readonly code: string;
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
}

/** isolated-vm sets these on the compiled script (its typings put them on the options instead). */
type CompiledWithCache = ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean };

/** The libraries Kinvey's modules expose, by the file of each package that runs without a module system. */
const LIBRARY_FILES = ['lodash/lodash.min.js', 'moment/min/moment.min.js', 'async/dist/async.min.js'] as const;

/** The isolate scripts, in the order they are joined (bootstrap.js declares 'use strict' first). */
const ISOLATE_FILES = ['bootstrap.js', 'modules.js', 'utils.js'] as const;
/** Where the isolate scripts live in the source tree, relative to the repository root. */
const ISOLATE_SOURCE_DIR = path.join('src', 'business-logic', 'sandbox', 'isolate');

/**
 * The folder holding the isolate scripts: `./isolate` next to this module (src/ under ts-jest,
 * dist/ once the build copied them), else the source tree of the nearest ancestor that has it, so
 * a build that bundles or moves this module still finds them.
 */
function isolateDir(): string {
  const beside = path.join(__dirname, 'isolate');
  if (existsSync(path.join(beside, ISOLATE_FILES[0]))) return beside;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, ISOLATE_SOURCE_DIR);
    if (existsSync(path.join(candidate, ISOLATE_FILES[0]))) return candidate;
    if (path.dirname(dir) === dir)
      throw new Error(
        `kinbase: the sandbox's isolate scripts (${ISOLATE_SOURCE_DIR}) were not found from ${__dirname}`,
      );
  }
}

let bootstrapSource: string | undefined;

/**
 * The bootstrap: a function expression of the two bridge callbacks whose body is the isolate
 * scripts joined in order, returning bootstrap.js's `entryPoints()`. Read from disk once per process.
 */
export function isolateBootstrapSource(): string {
  if (bootstrapSource === undefined) {
    const dir = isolateDir();
    const body = ISOLATE_FILES.map((file) => readFileSync(path.join(dir, file), 'utf8')).join('\n');
    bootstrapSource = `(function (hostCall, hostNotify) {\n${body}\nreturn entryPoints();\n})`;
  }
  return bootstrapSource;
}

export class IsolateTemplate {
  readonly bootstrap: TemplateScript = { filename: 'kinbase-sandbox-bootstrap.js', code: isolateBootstrapSource() };
  readonly libraries: readonly TemplateScript[];

  constructor() {
    this.libraries = LIBRARY_FILES.map((file) => ({
      filename: file,
      code: readFileSync(require.resolve(file), 'utf8'),
    }));
  }

  /** Compiles one template script in `isolate`, reusing (or producing) its code cache. */
  async compile(isolate: ivm.Isolate, script: TemplateScript): Promise<ivm.Script> {
    if (script.cachedData) {
      const compiled = await isolate.compileScript(script.code, {
        filename: script.filename,
        cachedData: script.cachedData,
      });
      if (!(compiled as CompiledWithCache).cachedDataRejected) return compiled;
      compiled.release();
    }
    const compiled = await isolate.compileScript(script.code, { filename: script.filename, produceCachedData: true });
    const produced = (compiled as CompiledWithCache).cachedData;
    if (produced) script.cachedData = produced;
    return compiled;
  }
}
