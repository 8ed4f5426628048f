/** Layering rules of house-style.md §14, checked in CI (`npm run lint:deps`). */
module.exports = {
  forbidden: [
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
      to: { path: '^src/smn/(smn-http\\.client|smn-request-authorizer|upstream-agents|undici-axios-adapter|iam-token\\.provider|signing/)' },
    },
    {
      name: 'audit-records-written-by-audit-only',
      comment:
        'Only the audit module (the change attempt lifecycle and the audit service) writes audit records: nothing else reaches the service or the stores. The metrics decorator of the store port passes calls through.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/audit/|^src/metrics/metered-audit\\.store\\.ts$' },
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
      comment: 'The official Huawei SDK core is a devDependency for the signer conformance test only.',
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
