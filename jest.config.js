const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * Packages whose .js files are ES modules (NestJS 12, jose 6, …). Node 20 can require() them; jest's module
 * system cannot, so swc turns them into CommonJS. Found from package.json rather than listed by hand, so a
 * dependency that turns ESM-only does not break the suite.
 */
function esmPackages(root = join(__dirname, 'node_modules')) {
  const names = [];
  for (const entry of readdirSync(root)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(join(root, entry)).map((name) => `${entry}/${name}`) : [entry];
    for (const name of dirs) {
      try {
        if (JSON.parse(readFileSync(join(root, name, 'package.json'), 'utf8')).type === 'module') names.push(name);
      } catch {
        // not a package
      }
    }
  }
  return names;
}

const escapeRegExp = (name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** What every tier shares: swc for TypeScript and for the ESM-only packages, and the setup file. */
const base = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escapeRegExp).join('|')})/)`],
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
  // Every answer a supertest-based suite receives is checked against the committed spec.
  setupFilesAfterEnv: ['<rootDir>/test/support/openapi-conformance.setup.ts'],
};

/** Specs beside the code that touch the file system or a loopback server: integration, not unit. */
const SRC_WITH_IO = [
  'src/config/load-config.spec.ts',
  'src/audit/data-dir-lock.spec.ts',
  'src/audit/audit-signing-key.spec.ts',
  'src/emulator/emulator.spec.ts',
  'src/emulator/faults.spec.ts',
  'src/emulator/admin-api.spec.ts',
  'src/http/undici-axios-adapter.spec.ts',
];

/** Suites that run processes: the built server, the verify CLI, signals, crashes, several instances, a fault proxy. */
const E2E = [
  'test/e2e/resilience.e2e.spec.ts',
  'test/e2e/production-refusal.e2e.spec.ts',
  'test/e2e/store-faults.e2e.spec.ts',
  'test/e2e/two-instances.e2e.spec.ts',
  'test/e2e/startup-failures.e2e.spec.ts',
  'test/e2e/stack.e2e.spec.ts',
  'test/e2e/tracing.e2e.spec.ts',
  'test/audit-e2e/audit-crash.e2e.spec.ts',
  'test/audit-e2e/audit-tamper-cli.e2e.spec.ts',
];

const at = (paths) => paths.map((path) => `<rootDir>/${path}`);

/**
 * The test tiers as jest projects (`npm test` runs them all; `npm run test:<tier>` one): unit — pure code,
 * beside it; contract — the real app (controllers, guards, pipes, filter) over fake ports; integration — real
 * PGlite, PostgreSQL, Redis and the emulator, in process; e2e — processes.
 */
module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/signer/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...SRC_WITH_IO.map(escapeRegExp)],
    },
    { ...base, displayName: 'contract', testMatch: ['<rootDir>/test/contract/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: [...at(SRC_WITH_IO), '<rootDir>/test/{audit,audit-e2e,auth,deploy,e2e,emulator,http,support}/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...E2E.map(escapeRegExp)],
    },
    { ...base, displayName: 'e2e', testMatch: at(E2E) },
  ],
  // Global options (jest ignores them inside a project).
  testTimeout: 30000,
  // Suites are independent (own ports, temp directories, schemas, Redis prefixes), so they run side by side.
  // Three workers on the two-core machines CI uses: much of the e2e and fault time is spent waiting on
  // processes, latency faults and leases, which a third worker fills (measured: 146 s with two, 115 s with three).
  maxWorkers: 3,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
