/** Layering rules (docs/architecture.md §4), checked in CI (`npm run lint:deps`). */
/**
 * Per folder, what it may import from the rest of src/ (a regex alternation after `^src/`): the wiring points
 * one way, from the composition root (src/*.ts) through the feature to the ports, and from metrics and health
 * to what they observe. Everything else is a layering violation.
 */
const ALLOWED_IMPORTS = {
  // Tracing is cross-cutting (README, Tracing): the request hooks and the log lines' trace ids (common/), the
  // outbound traceparent (http/), the SMN attempt spans (smn/) and the audit spans (audit/) all use tracing/,
  // which therefore imports nothing of theirs (only its configuration's type): the wiring points one way.
  tracing: 'tracing/|config/',
  common: 'common/|config/|tracing/',
  config: 'config/',
  http: 'http/|common/|config/|tracing/',
  // The caller AK/SK verifier canonicalises with the one signer (docs/architecture.md §4): the algorithm has one owner.
  auth: 'auth/|common/|config/|http/|smn/signing/aksk-signer\\.ts$',
  'rate-limit': 'rate-limit/|common/|config/|auth/(auth-events|auth-denial|auth\\.errors|caller)\\.ts$',
  smn: 'smn/|common/|config/|http/|tracing/',
  audit: 'audit/|common/|config/|tracing/|auth/(authenticated\\.decorator|caller)\\.ts$|rate-limit/rate-limiter\\.service\\.ts$',
  'sms-callback':
    'sms-callback/|common/|smn/(smn\\.port|sms-callback-rules|smn-endpoints)\\.ts$|audit/(change-attempt|change-attempt\\.lifecycle|change-attempts\\.module)\\.ts$|auth/(authenticated\\.decorator|caller)\\.ts$',
  health: 'health/|common/|config/|audit/audit\\.health\\.ts$|smn/(upstream-resilience|smn-endpoints)\\.ts$',
  // The checkpoint status, not the publisher (audit-checkpoint.ts): metrics read when the last checkpoint was
  // published through a read-only view, and never reach the code that holds the signing key.
  metrics:
    'metrics/|common/|config/|auth/auth-events\\.ts$|smn/(smn\\.port|upstream-resilience)\\.ts$|audit/(audit\\.store|audit\\.types|audit-chain|audit-checkpoint-status|project-locks)\\.ts$|rate-limit/redis-throttler\\.store\\.ts$',
  openapi: 'openapi/|common/|auth/authenticated\\.decorator\\.ts$',
};

const allowlists = Object.entries(ALLOWED_IMPORTS).map(([folder, allowed]) => ({
  name: `allowlist-${folder}`,
  comment: `What src/${folder}/ may import from the rest of src/.`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: '^src/', pathNot: `^src/(${allowed})` },
}));

module.exports = {
  forbidden: [
    ...allowlists,
    {
      name: 'audit-records-written-by-audit-only',
      comment:
        'Only the audit module (the change attempt lifecycle and the audit service) writes audit records: nothing else reaches the service or the stores. The metrics wrapper of the store port passes calls through, and the metrics module reads the intent backlog (a read, never a write).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/audit/|^src/metrics/(audit-store\\.metrics|metrics\\.module)\\.ts$|^src/app\\.module\\.ts$' },
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
      name: 'client-stands-alone',
      comment:
        'The typed client (clients/typescript) is generated from the committed spec and shipped on its own: it imports nothing of the service, and the service nothing of it.',
      severity: 'error',
      from: { path: '^clients/' },
      to: { path: '^(src|test|scripts)/' },
    },
    {
      name: 'service-not-to-client',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^clients/' },
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
