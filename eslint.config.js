// The JavaScript lint of `./build.sh test lint`: ESLint's recommended rules (pinned in
// package.json) for the page's ES modules and workers, and for the Node tests that drive it.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['www/vendor/', 'www/pkg/', 'www/data/', 'target/', '.tools/', 'artifacts/'] },
  js.configs.recommended,
  {
    files: ['www/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['www/*-worker.js'],
    languageOptions: { globals: globals.worker },
  },
  {
    // Playwright runs some of the tests' functions in the page, so both sets of globals.
    files: ['tests/e2e/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
];
