#!/usr/bin/env node
/**
 * Builds the server and the benchmarks into dist/ with esbuild (a runtime dependency), one
 * CommonJS file per TypeScript file, laid out as tsc laid it out (src/server.ts ->
 * dist/src/server.js, bench/abuse.ts -> dist/bench/abuse.js): tests, benchmarks and worker code
 * find files by those paths. esbuild only strips types, so `npm start` runs after
 * `npm ci --omit=dev`; type errors are `npm run typecheck`'s job (tsc, a devDependency).
 * Per-file transpiling is safe because tsconfig.json sets `isolatedModules`, which makes tsc
 * reject what one file cannot be compiled alone (const enums across files, re-exported types).
 */
'use strict';
const { readdirSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
/** The folders tsconfig.build.json includes; files they import from elsewhere (bench imports test/support/ferretdb.ts) are built too. */
const ROOTS = ['src', 'schemas', 'bench'];

function typeScriptFiles(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(rel);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every local .ts file reachable from ROOTS, found by a throwaway bundle with packages left external. */
async function reachableFiles() {
  const entries = ROOTS.flatMap(typeScriptFiles);
  const { metafile } = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries,
    bundle: true,
    packages: 'external',
    platform: 'node',
    write: false,
    outdir: 'dist',
    metafile: true,
    logLevel: 'silent',
  });
  const reached = Object.keys(metafile.inputs).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
  return [...new Set([...entries, ...reached])];
}

/** Writes dist/<dir>/<name>.js (and .js.map) for every file; rejects with esbuild's message on a syntax error. */
async function build() {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: await reachableFiles(),
    outbase: '.',
    outdir: 'dist',
    bundle: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    sourcemap: true,
    // import() becomes require(), as tsc's CommonJS emit made it: a native import() of an
    // extensionless path ('./documents/mongo.document-store') fails in Node's ESM resolver.
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
}

module.exports = { build };
if (require.main === module) {
  build().catch((error) => {
    process.stderr.write(`kinbase: the server build failed: ${error.message}\n`);
    process.exit(1);
  });
}
