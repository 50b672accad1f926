// ESLint flat config: typescript-eslint with type information, React hooks rules.
// `npm run lint` fails on any warning.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The features: one folder each under src/features. */
const FEATURES = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** What a file of `feature` may not import. `escape` matches the relative paths that
 *  leave the feature's folder from the file's depth; `escapeMessage` says so. */
function featureImportRules(feature, escape, escapeMessage) {
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { regex: '^@/app(/|$)', message: 'Features must not import the app layer.' },
          {
            regex: `^@/features/(?!${feature}(/|$))`,
            message: `Features must not import each other: move what ${feature} shares with another feature to src/lib or src/components (test helpers: src/testing).`,
          },
          { regex: escape, message: escapeMessage },
        ],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-results', 'playwright-report', 'src/lib/api/schema.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  // Imports flow one way: shared (components, hooks, lib) -> features -> app.
  {
    files: ['src/components/**', 'src/hooks/**', 'src/lib/**'],
    // Tests may wire layers together (e.g. the client with the real session store).
    ignores: ['**/*.test.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@/features/*', '@/app/*'], message: 'Shared code must not import features or the app.' }] },
      ],
    },
  },
  // A feature imports only itself and the shared layers, tests included (shared test
  // helpers live in src/testing). Relative paths may not climb out of the feature either:
  // `../x` from its root files, `../../x` from deeper ones (deeper files reach their own
  // feature's other folders by the @/features/<feature>/… path).
  ...FEATURES.flatMap((feature) => [
    {
      files: [`src/features/${feature}/*`],
      rules: featureImportRules(feature, '^\\.\\./', 'At the root of a feature, `../` leaves it: import by the @/ path.'),
    },
    {
      files: [`src/features/${feature}/*/**`],
      rules: featureImportRules(feature, '^(\\.\\./){2}', 'Relative imports climb one folder at most (`../x`), so they never leave the feature: import by the @/ path.'),
    },
  ]),
  {
    files: ['*.{js,ts}', 'e2e/**/*.ts', 'scripts/**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
