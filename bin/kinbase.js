#!/usr/bin/env node
/**
 * The `kinbase` command (package.json "bin"): builds dist/ first when it is missing or stale (as
 * `npm start` does; esbuild is a runtime dependency), then runs dist/src/cli/main.js.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-if-stale.js')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (built.status !== 0) process.exit(1);
require(path.join(root, 'dist', 'src', 'cli', 'main.js')).run(process.argv);
