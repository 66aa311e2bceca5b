#!/usr/bin/env node
/**
 * Builds dist/ (tsc -p tsconfig.build.json, then the console with console/build.js) only when it is missing or older than a source:
 * `npm start` on a built tree starts at once and never rewrites dist/ under a running server.
 * "Older" compares modification times of src/, schemas/, bench/, console/, the tsconfig files and
 * package-lock.json with dist/.build-stamp, written after each successful build. `--force`
 * (npm run build) always builds.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'schemas', 'bench', 'console/src', 'console/index.html', 'console/styles.css', 'console/favicon.svg', 'console/build.js', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

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

const built = existsSync(stamp) && existsSync(path.join(root, 'dist', 'src', 'server.js')) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...inputs.map(newest));
if (!process.argv.includes('--force') && built > 0 && changed <= built) process.exit(0);


const forced = process.argv.includes('--force');
if (!forced) process.stderr.write(built ? 'kinbase: sources changed since the last build; building dist/ ...\n' : 'kinbase: building dist/ (first start) ...\n');
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
} catch {
  process.stderr.write('kinbase: the TypeScript build failed (see above)\n');
  process.exit(1);
}
copyIsolateScripts();
require('../console/build.js').build().then(
  () => writeFileSync(stamp, `${new Date().toISOString()}\n`),
  (error) => {
    process.stderr.write(`kinbase: the console build failed: ${error.message}\n`);
    process.exit(1);
  },
);
