#!/usr/bin/env node
/**
 * Builds dist/ (the server with scripts/build-server.js, then the console with console/build.js;
 * both esbuild, a runtime dependency, so `npm start` works after `npm ci --omit=dev`) only when it
 * is missing or older than a source:
 * `npm start` on a built tree starts at once and never rewrites dist/ under a running server.
 * "Older" compares modification times of src/, schemas/, bench/, console/, the tsconfig files and
 * package-lock.json with dist/.build-stamp, written after each successful build. `--force`
 * (npm run build) always builds.
 */
'use strict';
const { existsSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'schemas', 'bench', 'test/support/ferretdb.ts', 'scripts/build-server.js', 'console/src', 'console/index.html', 'console/styles.css', 'console/favicon.svg', 'console/build.js', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted file changes its directory's mtime
  for (const name of readdirSync(full)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

const built = existsSync(stamp) && existsSync(path.join(root, 'dist', 'src', 'server.js')) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...inputs.map(newest));
if (!process.argv.includes('--force') && built > 0 && changed <= built) process.exit(0);


const forced = process.argv.includes('--force');
if (!forced) process.stderr.write(built ? 'kinbase: sources changed since the last build; building dist/ ...\n' : 'kinbase: building dist/ (first start) ...\n');
build().catch((error) => {
  process.stderr.write(`kinbase: ${error.message}\n`);
  process.exit(1);
});

async function build() {
  await require('./build-server.js').build().catch((error) => {
    throw new Error(`the server build failed: ${error.message}`);
  });
  await require('../console/build.js').build().catch((error) => {
    throw new Error(`the console build failed: ${error.message}`);
  });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
