/**
 * What every new isolate is loaded with: the bootstrap (isolate-runtime.ts) and the real lodash,
 * moment and async builds, read from node_modules once per Sandbox. Each script's V8 code cache
 * is produced by the first isolate that compiles it and handed to the later ones, so replacing a
 * disposed isolate skips parsing about 200 KB of library code.
 */
import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { ISOLATE_BOOTSTRAP_SOURCE } from './isolate-runtime';

interface TemplateScript {
  readonly filename: string;
  readonly code: string;
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
}

/** isolated-vm sets these on the compiled script (its typings put them on the options instead). */
type CompiledWithCache = ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean };

/** The libraries Kinvey's modules expose, by the file of each package that runs without a module system. */
const LIBRARY_FILES = ['lodash/lodash.min.js', 'moment/min/moment.min.js', 'async/dist/async.min.js'] as const;

export class IsolateTemplate {
  readonly bootstrap: TemplateScript = { filename: 'kinbase-sandbox-bootstrap.js', code: ISOLATE_BOOTSTRAP_SOURCE };
  readonly libraries: readonly TemplateScript[];

  constructor() {
    this.libraries = LIBRARY_FILES.map((file) => ({ filename: file, code: readFileSync(require.resolve(file), 'utf8') }));
  }

  /** Compiles one template script in `isolate`, reusing (or producing) its code cache. */
  async compile(isolate: ivm.Isolate, script: TemplateScript): Promise<ivm.Script> {
    if (script.cachedData) {
      const compiled = await isolate.compileScript(script.code, { filename: script.filename, cachedData: script.cachedData });
      if (!(compiled as CompiledWithCache).cachedDataRejected) return compiled;
      compiled.release();
    }
    const compiled = await isolate.compileScript(script.code, { filename: script.filename, produceCachedData: true });
    const produced = (compiled as CompiledWithCache).cachedData;
    if (produced) script.cachedData = produced;
    return compiled;
  }
}
