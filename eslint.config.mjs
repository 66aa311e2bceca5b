import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Type-aware rules (floating promises, promises passed where a callback's result is ignored,
  // unsafe `any`) for every TypeScript file: each is in a tsconfig, found by the project service.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts', '**/*.tsx'] })),
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Port implementations are `async` even without an `await` so that a synchronous throw reaches
      // the caller as a rejected promise, as the port's contract says; removing `async` to satisfy
      // this rule would change that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    rules: {
      // Prettier owns layout: it breaks `request(app)\n  [method](...)` chains that this rule reads
      // as a mistaken call (eslint-config-prettier turns it off for the same reason).
      'no-unexpected-multiline': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read the environment only in src/server.ts (through loadConfig).',
        },
      ],
    },
  },
  {
    files: ['src/server.ts', 'src/cli/main.ts', 'test/**', 'bench/**', 'scripts/**', '*.js', '*.mjs'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // The console's event handlers are async and each catches its failure into the view's error
    // state, so the promise a button or form gets back never rejects unseen.
    files: ['console/src/**/*.tsx'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }] },
  },
  {
    // Tests read HTTP answers through supertest, whose `res.body` is `any` by design: each test
    // asserts the shape it expects, so narrowing every body first would add casts, not safety.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Plain Node scripts that drive the official SDKs as child processes (see test/e2e/sdk.test.ts).
    files: ['test/e2e/clients/**/*.js', 'test/support/kinvey-js-sdk-node.js'],
    languageOptions: {
      globals: {
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
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
      globals: {
        globalThis: 'readonly',
        _: 'readonly',
        moment: 'readonly',
        async: 'readonly',
        module: 'off',
        require: 'off',
        process: 'off',
        __dirname: 'off',
      },
    },
    rules: {
      'no-var': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
);
