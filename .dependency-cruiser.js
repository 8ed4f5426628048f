/** Layering rules of house-style.md §14, checked in CI (`npm run lint:deps`). */
module.exports = {
  forbidden: [
    // Per folder, what it may import: the wiring points one way, from the composition root (src/*.ts)
    // through the feature to the ports, and from metrics and health to what they observe.
    {
      name: 'allowlist-common',
      comment: 'What src/common/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/(common/|config/)' },
    },
    {
      name: 'allowlist-config',
      comment: 'What src/config/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config/)' },
    },
    {
      name: 'allowlist-http',
      comment: 'What src/http/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/', pathNot: '^src/(http/|common/|config/)' },
    },
    {
      name: 'allowlist-auth',
      comment: 'What src/auth/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/', pathNot: '^src/(auth/|common/|config/|http/)' },
    },
    {
      name: 'allowlist-rate-limit',
      comment: 'What src/rate-limit/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/rate-limit/' },
      to: { path: '^src/', pathNot: '^src/(rate-limit/|common/|config/|auth/(auth-events|auth-denial|auth\\.errors|caller)\\.ts$)' },
    },
    {
      name: 'allowlist-smn',
      comment: 'What src/smn/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/smn/' },
      to: { path: '^src/', pathNot: '^src/(smn/|common/|config/|http/)' },
    },
    {
      name: 'allowlist-audit',
      comment: 'What src/audit/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: '^src/', pathNot: '^src/(audit/|common/|config/|auth/(authenticated\\.decorator|caller)\\.ts$|rate-limit/rate-limiter\\.service\\.ts$)' },
    },
    {
      name: 'allowlist-sms-callback',
      comment: 'What src/sms-callback/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/sms-callback/' },
      to: {
        path: '^src/',
        pathNot:
          '^src/(sms-callback/|common/|smn/(smn\\.port|sms-callback-rules|smn-endpoints)\\.ts$|audit/(change-attempt|change-attempt\\.lifecycle|change-attempts\\.module)\\.ts$|auth/(authenticated\\.decorator|caller)\\.ts$)',
      },
    },
    {
      name: 'allowlist-health',
      comment: 'What src/health/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/health/' },
      to: { path: '^src/', pathNot: '^src/(health/|common/|config/|audit/audit\\.health\\.ts$|smn/(upstream-resilience|smn-endpoints)\\.ts$)' },
    },
    {
      name: 'allowlist-metrics',
      comment: 'What src/metrics/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/metrics/' },
      to: {
        path: '^src/',
        pathNot:
          '^src/(metrics/|common/|config/|auth/auth-events\\.ts$|smn/(smn\\.port|upstream-resilience)\\.ts$|audit/(audit\\.store|audit\\.types|audit-chain|project-locks)\\.ts$)',
      },
    },
    {
      name: 'allowlist-openapi',
      comment: 'What src/openapi/ may import from the rest of src/ (everything else is a layering violation).',
      severity: 'error',
      from: { path: '^src/openapi/' },
      to: { path: '^src/', pathNot: '^src/(openapi/|common/|auth/authenticated\\.decorator\\.ts$)' },
    },
    {
      name: 'emulator-is-standalone',
      comment: 'The SMN emulator imports nothing from the BFF (it shares only the published algorithm).',
      severity: 'error',
      from: { path: '^src/emulator/' },
      to: { path: '^src/', pathNot: '^src/emulator/' },
    },
    {
      name: 'emulator-loaded-only-when-embedded',
      comment:
        'The BFF loads the emulator, and with it the published demo credentials, only when the embedded emulator is on: main.ts imports it with import(), nothing imports it statically.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/emulator/' },
      to: { path: '^src/emulator/', dynamic: false },
    },
    {
      name: 'feature-uses-the-port',
      comment: 'The feature depends on the SMN port, never on the HTTP adapter or its transport.',
      severity: 'error',
      from: { path: '^src/sms-callback/' },
      to: { path: '^src/(smn/(smn-http\\.client|smn-request-authorizer|iam-token\\.provider|signing/)|http/)' },
    },
    {
      name: 'one-outbound-http-transport',
      comment: 'Outbound HTTP has one owner (design §7): only src/http/ talks to undici; everyone else calls its HttpService.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/http/' },
      to: { path: 'node_modules/undici/' },
    },
    {
      name: 'audit-records-written-by-audit-only',
      comment:
        'Only the audit module (the change attempt lifecycle and the audit service) writes audit records: nothing else reaches the service or the stores. The metrics wrapper of the store port passes calls through.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/audit/|^src/metrics/audit-store\\.metrics\\.ts$|^src/app\\.module\\.ts$' },
      to: { path: '^src/audit/(audit\\.service|audit\\.store|kysely-audit\\.store|postgres-audit\\.store|pglite-audit\\.store|open-audit-store)\\.ts$' },
    },
    {
      name: 'src-not-to-test',
      comment: 'Production code never imports tests or their support.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/|\\.spec\\.ts$' },
    },
    {
      name: 'official-sdk-only-in-tests',
      comment: 'The official Huawei SDK core is a devDependency for tests only (signer conformance, the emulator against the SDK).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '@huaweicloud/huaweicloud-sdk-core' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'Folders depend on each other in one direction: a cycle between two folders is a cycle of concerns.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
