#!/usr/bin/env node
/**
 * Builds the console into dist/console/: one esbuild bundle of console/src (TypeScript + Preact
 * JSX, minified) and the static index.html, styles.css and favicon.svg beside it. No CDN:
 * everything the browser loads comes from this folder, served by kinbase at /console.
 * No source map unless asked (`node console/build.js --source-map`, for debugging): a server
 * built for use does not hand its console's sources to every visitor.
 */
'use strict';
const { copyFileSync, mkdirSync, rmSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const here = __dirname;
const out = path.resolve(here, '..', 'dist', 'console');

/** Builds into `outDir` (dist/console), replacing what was there; `sourceMap` adds app.js.map. */
async function build({ outDir = out, sourceMap = false } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(here, 'src', 'main.tsx')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: sourceMap,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'styles.css', 'favicon.svg'])
    copyFileSync(path.join(here, file), path.join(outDir, file));
}

module.exports = { build };
if (require.main === module) {
  build({ sourceMap: process.argv.includes('--source-map') }).catch((error) => {
    process.stderr.write(`kinbase: the console build failed: ${error.message}\n`);
    process.exit(1);
  });
}
