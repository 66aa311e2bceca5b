import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * Compiles one TypeScript source file to CommonJS JavaScript (no type check), for tests that load
 * project modules in a child process or worker where jest's transform does not apply.
 */
export function transpileFile(file: string): string {
  return ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
}
