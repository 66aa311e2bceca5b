#!/usr/bin/env node
/**
 * Builds the console into dist/console/: one esbuild bundle of console/src (TypeScript + Preact
 * JSX, minified, with a source map) and the static index.html, styles.css and favicon.svg beside it. No CDN:
 * everything the browser loads comes from this folder, served by kinbase at /console.
 */
'use strict';
const { copyFileSync, mkdirSync, rmSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const here = __dirname;
const out = path.resolve(here, '..', 'dist', 'console');

async function build() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(here, 'src', 'main.tsx')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'styles.css', 'favicon.svg']) copyFileSync(path.join(here, file), path.join(out, file));
}

module.exports = { build };
if (require.main === module) {
  build().catch((error) => {
    process.stderr.write(`kinbase: the console build failed: ${error.message}\n`);
    process.exit(1);
  });
}
