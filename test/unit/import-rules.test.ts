/**
 * The import checker that `npm run lint` runs (scripts/check-imports.js): it must refuse an import
 * cycle (type-only ones too) and an import across a layer boundary, and pass the real src/.
 * Each case writes a small src/ tree to a temp directory and runs the checker on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkImports } = require('../../scripts/check-imports.js') as {
  checkImports: (root: string, exceptions?: unknown[]) => string[];
};

/** Writes `files` (paths relative to src/) into a fresh temp root and returns the checker's problems. */
function check(files: Record<string, string>): string[] {
  const root = makeTempDir('kinbase-imports-');
  try {
    for (const [file, code] of Object.entries(files)) {
      const full = path.join(root, 'src', file);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, code);
    }
    return checkImports(root, []);
  } finally {
    removeTempDir(root);
  }
}

describe('the import checker run by npm run lint', () => {
  test('a clean layered tree passes', () => {
    expect(
      check({
        'domain/users/users.service.ts':
          "import { errors } from '../errors';\nimport { hash } from '../../internal/hash';\nexport const x = errors;\n",
        'domain/errors.ts': 'export const errors = {};\n',
        'internal/hash.ts': "import { createHash } from 'node:crypto';\nexport const hash = createHash;\n",
        'http/routes/user.ts':
          "import { Router } from 'express';\nimport { x } from '../../domain/users/users.service';\nexport const r = [Router, x];\n",
        'stores/documents/mongodb/store.ts':
          "import { MongoClient } from 'mongodb';\nimport type { DocumentStore } from '../../../ports';\nexport const s = MongoClient;\n",
        'ports.ts': 'export interface DocumentStore { readonly kind: string }\n',
      }),
    ).toEqual([]);
  });

  test('a runtime import cycle fails', () => {
    const problems = check({
      'domain/a.ts': "import { b } from './b';\nexport const a = b;\n",
      'domain/b.ts': "import { c } from './sub/c';\nexport const b = c;\n",
      'domain/sub/c.ts': "import { a } from '../a';\nexport const c = () => a;\n",
    });
    expect(problems).toEqual(['cycle: src/domain/a.ts <-> src/domain/b.ts <-> src/domain/sub/c.ts']);
  });

  test('a cycle made only of type imports fails too', () => {
    const problems = check({
      'domain/sessions.ts':
        "import type { Cached } from './session-cache';\nexport interface Owner { id: string }\nexport type C = Cached;\n",
      'domain/session-cache.ts':
        "export type { Owner } from './sessions';\nimport type { Owner } from './sessions';\nexport interface Cached extends Owner { at: number }\n",
    });
    expect(problems).toEqual(['cycle: src/domain/session-cache.ts <-> src/domain/sessions.ts']);
  });

  test('the domain importing express fails', () => {
    const problems = check({
      'domain/users.ts': "import type { Request } from 'express';\nexport type R = Request;\n",
    });
    expect(problems).toEqual(['layer: src/domain/users.ts imports express (domain/ must not import express)']);
  });

  test('the domain importing a store, Business Logic or config fails', () => {
    const problems = check({
      'domain/files.ts':
        "import { LocalDisk } from '../stores/objects/local-disk';\nimport { run } from '../business-logic/hooks';\nimport { load } from '../config';\nexport const f = [LocalDisk, run, load];\n",
      'stores/objects/local-disk.ts': 'export const LocalDisk = 1;\n',
      'business-logic/hooks.ts': 'export const run = 1;\n',
      'config/index.ts': 'export const load = 1;\n',
    });
    expect(problems).toEqual([
      'layer: src/domain/files.ts imports src/stores/objects/local-disk.ts (domain/ must not import stores)',
      'layer: src/domain/files.ts imports src/business-logic/hooks.ts (domain/ must not import business-logic)',
      'layer: src/domain/files.ts imports src/config/index.ts (domain/ must not import config)',
    ]);
  });

  test('http importing a store, and a store importing http, fail', () => {
    const problems = check({
      'http/blob.ts': "import { s } from '../stores/gcs';\nexport const b = s;\n",
      'stores/gcs.ts': "import type { R } from '../http/types';\nexport const s = 1 as unknown as R;\n",
      'http/types.ts': 'export type R = number;\n',
    });
    expect(problems).toEqual([
      'layer: src/http/blob.ts imports src/stores/gcs.ts (http/ must not import stores)',
      'layer: src/stores/gcs.ts imports src/http/types.ts (stores/ must not import http)',
    ]);
  });

  test('an exception that no longer matches an import is reported', () => {
    const root = makeTempDir('kinbase-imports-');
    try {
      mkdirSync(path.join(root, 'src'), { recursive: true });
      writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
      expect(checkImports(root, [{ from: 'http/x.ts', to: 'stores/y.ts', reason: 'gone' }])).toEqual([
        'stale exception: http/x.ts -> stores/y.ts no longer occurs; remove it',
      ]);
    } finally {
      removeTempDir(root);
    }
  });

  test('the real src/ has no cycle and no forbidden import', () => {
    expect(checkImports(path.resolve(__dirname, '../..'))).toEqual([]);
  });
});
