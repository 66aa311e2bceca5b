#!/usr/bin/env node
/**
 * Import checker run by `npm run lint`: fails on any import cycle in src/ (type-only imports
 * included, since a type cycle is still a design cycle) and on an import across a layer boundary.
 * The layers and their forbidden imports are in LAYER_RULES; a deliberate crossing goes into
 * EXCEPTIONS with its reason. Zero dependencies beyond `typescript` (already a devDependency):
 * `ts.preProcessFile` lists every import, `export ... from`, `import type`, `require()` and
 * `import()` specifier without type-checking, so the whole tree takes well under a second.
 *
 * Usage: `node scripts/check-imports.js [root]` (root defaults to the repository); exits 1 and
 * prints one line per problem. `checkImports(root)` returns the problems for tests.
 */
'use strict';
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

/** Packages that reach a driver, the network edge, the sandbox engine or the image decoder. */
const DRIVERS = ['express', 'mongodb', '@google-cloud/storage', 'better-sqlite3', 'isolated-vm', 'sharp'];

/**
 * Per layer (a folder under src/), the src/ folders and packages it must not import.
 * Folders are matched as path prefixes relative to src/ ("config" matches src/config/**).
 */
const LAYER_RULES = [
  {
    layer: 'domain',
    folders: ['http', 'stores', 'business-logic', 'config', 'cli', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: DRIVERS,
  },
  {
    layer: 'internal',
    folders: ['domain', 'http', 'stores', 'business-logic', 'config', 'cli', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: DRIVERS,
  },
  {
    layer: 'business-logic',
    folders: ['http', 'stores', 'cli', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: ['express', 'mongodb', '@google-cloud/storage', 'better-sqlite3', 'sharp'],
  },
  {
    layer: 'stores',
    folders: ['http', 'business-logic', 'cli', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: ['express'],
  },
  {
    layer: 'http',
    folders: ['stores', 'cli', 'runtime.ts', 'server.ts'],
    packages: ['mongodb', '@google-cloud/storage', 'better-sqlite3', 'isolated-vm', 'sharp'],
  },
  // The kinbase command: a process entry like server.ts (config, stores, domain); never the HTTP layer.
  {
    layer: 'cli',
    folders: ['http', 'business-logic', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: ['express', 'isolated-vm'],
  },
  {
    layer: 'config',
    folders: ['http', 'stores', 'business-logic', 'cli', 'app.ts', 'runtime.ts', 'server.ts'],
    packages: DRIVERS,
  },
];

/**
 * Deliberate crossings, each `from -> to` (paths relative to src/, `to` a file or a package) with
 * the reason it is allowed. Keep this list short; an entry that no longer matches an import is
 * reported so the list cannot rot.
 */
const EXCEPTIONS = [
  {
    from: 'http/routes/storage/storage.routes.ts',
    to: 'stores/objects/object-key.ts',
    reason: 'the local storage routes parse the object key carried in a signed URL, with the same rules the stores use',
  },
];

/** Lists the .ts/.js/.mjs/.cjs files under `dir` (skipping .d.ts, which carry no imports we own). */
function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Resolves a relative specifier the way Node/TypeScript would, or returns undefined. */
function resolveRelative(fromFile, spec) {
  const base = path.resolve(path.dirname(fromFile), spec);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [
    base,
    `${stem}.ts`,
    `${base}.ts`,
    `${base}.js`,
    `${stem}.js`,
    path.join(base, 'index.ts'),
    path.join(base, 'index.js'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** The package a bare specifier names ("@scope/pkg/sub" -> "@scope/pkg"), or undefined for node built-ins. */
function packageName(spec) {
  if (spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Builds the import graph of `srcDir`: for each file (relative to srcDir, '/'-separated) its
 * imported src files and packages.
 */
function buildGraph(srcDir) {
  const graph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const files = new Set();
    const packages = new Set();
    for (const { fileName: spec } of info.importedFiles) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target && target.startsWith(srcDir + path.sep)) files.add(rel(srcDir, target));
      } else {
        const name = packageName(spec);
        if (name) packages.add(name);
      }
    }
    graph.set(rel(srcDir, file), { files: [...files], packages: [...packages] });
  }
  return graph;
}

function rel(srcDir, file) {
  return path.relative(srcDir, file).split(path.sep).join('/');
}

/** Every elementary cycle's representative (one per strongly connected component), as file lists. */
function findCycles(graph) {
  // Tarjan's strongly connected components; a component of 2+ files, or a file importing itself, is a cycle.
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const strongConnect = (v) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.files ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
    }
    if (low.get(v) === indices.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).files.includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) strongConnect(v);
  return cycles;
}

function under(file, prefix) {
  return file === prefix || file.startsWith(`${prefix}/`);
}

/** The layer-rule violations in `graph`, minus `exceptions`; also reports unused exceptions. */
function findLayerViolations(graph, exceptions = EXCEPTIONS) {
  const problems = [];
  const used = new Set();
  const excepted = (from, to) => {
    const hit = exceptions.find((e) => e.from === from && e.to === to);
    if (hit) used.add(hit);
    return Boolean(hit);
  };
  for (const [from, { files, packages }] of graph) {
    for (const rule of LAYER_RULES.filter((r) => under(from, r.layer))) {
      for (const to of files) {
        const folder = rule.folders.find((f) => under(to, f) || to === f);
        if (folder && !excepted(from, to))
          problems.push(`layer: src/${from} imports src/${to} (${rule.layer}/ must not import ${folder})`);
      }
      for (const pkg of packages) {
        if (rule.packages.includes(pkg) && !excepted(from, pkg))
          problems.push(`layer: src/${from} imports ${pkg} (${rule.layer}/ must not import ${pkg})`);
      }
    }
  }
  for (const e of exceptions)
    if (!used.has(e)) problems.push(`stale exception: ${e.from} -> ${e.to} no longer occurs; remove it`);
  return problems;
}

/** All problems under `root`/src: cycles, then layer violations. Empty means clean. */
function checkImports(root, exceptions = EXCEPTIONS) {
  const graph = buildGraph(path.join(path.resolve(root), 'src'));
  const problems = findCycles(graph).map((c) => `cycle: ${c.map((f) => `src/${f}`).join(' <-> ')}`);
  return problems.concat(findLayerViolations(graph, exceptions));
}

module.exports = { checkImports, buildGraph, findCycles, findLayerViolations, LAYER_RULES, EXCEPTIONS };

if (require.main === module) {
  const problems = checkImports(process.argv[2] ?? path.resolve(__dirname, '..'));
  for (const p of problems) process.stderr.write(`check-imports: ${p}\n`);
  if (problems.length > 0) process.exit(1);
}
