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
const { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = [
  'src',
  'schemas',
  'bench',
  'test/support/ferretdb.ts',
  'scripts/build-server.js',
  'console/src',
  'console/index.html',
  'console/styles.css',
  'console/favicon.svg',
  'console/build.js',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
];

function newest(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted file changes its directory's mtime
  for (const name of readdirSync(full)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

/**
 * Copies the scripts that run inside the Business Logic isolates (every isolate/*.js under
 * src/, read at run time by src/business-logic/sandbox/isolate-template.ts, not compiled) to the same
 * place under dist/, whatever compiles the TypeScript.
 */
function copyIsolateScripts(dir = 'src') {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) copyIsolateScripts(relative);
    else if (path.basename(dir) === 'isolate' && entry.name.endsWith('.js')) {
      mkdirSync(path.join(root, 'dist', dir), { recursive: true });
      copyFileSync(path.join(root, relative), path.join(root, 'dist', relative));
    }
  }
}

const built =
  existsSync(stamp) && existsSync(path.join(root, 'dist', 'src', 'server.js')) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...inputs.map(newest));
if (!process.argv.includes('--force') && built > 0 && changed <= built) process.exit(0);

const forced = process.argv.includes('--force');
if (!forced)
  process.stderr.write(
    built
      ? 'kinbase: sources changed since the last build; building dist/ ...\n'
      : 'kinbase: building dist/ (first start) ...\n',
  );
build().catch((error) => {
  process.stderr.write(`kinbase: ${error.message}\n`);
  process.exit(1);
});

async function build() {
  // The stamp gets the build's start time: a source saved while the build runs is newer, so the
  // next start builds again instead of serving the older output.
  const startedAt = new Date();
  await require('./build-server.js')
    .build()
    .catch((error) => {
      throw new Error(`the server build failed: ${error.message}`);
    });
  copyIsolateScripts();
  await require('../console/build.js')
    .build()
    .catch((error) => {
      throw new Error(`the console build failed: ${error.message}`);
    });
  writeFileSync(stamp, `${startedAt.toISOString()}\n`);
  utimesSync(stamp, startedAt, startedAt);
}
