const { join } = require('node:path');

/**
 * The browser tier on its own (`npm run test:browser`): Debian's Chromium, driven by playwright-core, against
 * the built server (`dist/`, so `npm run build` first). TypeScript through swc, as in the other tiers.
 */
module.exports = {
  rootDir: join(__dirname, '..', '..'),
  displayName: 'browser',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
