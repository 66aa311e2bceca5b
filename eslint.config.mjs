import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[object.name='process'][property.name='env']",
        message: 'Read the environment only in src/server.ts (through loadConfig).',
      }],
    },
  },
  {
    files: ['src/server.ts', 'test/**', 'bench/**', 'scripts/**', '*.js', '*.mjs'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Plain Node scripts that drive the official SDKs as child processes (see test/e2e/sdk.test.ts).
    files: ['test/e2e/clients/**/*.js', 'test/support/kinvey-js-sdk-node.js'],
    languageOptions: { globals: { Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', AbortSignal: 'readonly' } },
  },
  {
    // Kinvey Business Logic scripts, as kinvey-cli exports them: each defines the function the
    // sandbox calls (onPreSave, onRequest, ...), and common code defines names the others use.
    files: ['test/fixtures/business-logic/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { shelfRules: 'readonly' } },
    rules: { '@typescript-eslint/no-unused-vars': 'off', 'no-redeclare': 'off' },
  },
  {
    // The scripts that run inside the Business Logic isolates (see their bootstrap.js): plain
    // scripts in one function scope, in a bare V8 isolate with no Node APIs. Each file names what
    // it takes from the others in a global comment and what it gives in an exported comment.
    files: ['src/business-logic/sandbox/isolate/*.js'],
    // Node's names, which the **/*.js block above declares, do not exist there.
    languageOptions: {
      sourceType: 'script',
      globals: { globalThis: 'readonly', _: 'readonly', moment: 'readonly', async: 'readonly', module: 'off', require: 'off', process: 'off', __dirname: 'off' },
    },
    rules: {
      'no-var': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
);
