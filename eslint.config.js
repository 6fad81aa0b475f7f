// ESLint: typescript-eslint's type-aware rules (floating and misused promises above all) over the server, the
// media layer, the engine, the front end, the tests and the benchmarks. Prettier owns the layout
// (eslint-config-prettier turns off every rule it would fight).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'front/dist/',
      'dist/',
      'data/',
      'recordings/',
      '.test-artifacts/',
      'bench/results/',
      '.scratch/',
      'front/src/components.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.ts', '**/*.vue', '**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
      parserOptions: {
        parser: tseslint.parser,
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        extraFileExtensions: ['.vue'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          // node:test's test() and describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/require-await': 'off',
      'vue/multi-word-component-names': 'off',
      // A prop that is a store or an element is handed down to be used: only assigning the prop itself is a mistake.
      'vue/no-mutating-props': ['error', { shallowOnly: true }],
    },
  },
  {
    // Tests, benchmarks and the smoke check read untyped JSON, raw JSON-RPC and kurento-client's untyped objects on purpose: the
    // `any` family is allowed there; promises are still checked.
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'smoke/**/*.ts', 'drivers/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Layers point one way: the media layer (and its engine) never imports the API.
    files: ['media/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)api/', message: 'media/ must not depend on api/: give media its own type.' }] },
      ],
    },
  },
  {
    // Benchmarks and the shared drivers stand on their own: nothing of the test suites.
    files: ['bench/**/*.ts', 'drivers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)tests/', message: 'bench/ and drivers/ must not import tests/: move it to drivers/.' },
          ],
        },
      ],
    },
  },
  {
    // The front end shares only the wire contract with the server.
    files: ['front/**/*.ts', 'front/**/*.vue'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(api|media)/(?!contract/)',
              message: 'front/ may import only api/contract/ from the server.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript files carry no types.
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
