/**
 * The embedded (PGlite) store alone, without Nest: open + migrate time and RSS of a new data directory (from
 * the build's template, or by initdb), of a restart on it, and after N PUT-shaped write pairs (intent insert,
 * then finalize: the chain-append transaction). Each case runs in a fresh child process, so RSS is that of a
 * process that did only this. docs/performance.md, "Embedded store: start and memory".
 *
 *   node dist/scripts/bench/embedded-store-probe.js [rounds=3] [writes=2000]
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import type { AuditIntent } from '../../src/audit/audit.types';
import { PgliteAuditStore } from '../../src/audit/pglite-audit.store';
import { BUILT_TEMPLATE_DIR } from '../../src/audit/pglite-template';

const mb = () => Math.round(process.memoryUsage().rss / 1048576);

async function child(dataDir: string, templateDir: string, writes: number): Promise<void> {
  const t0 = performance.now();
  const store = await PgliteAuditStore.open({ dataDir, templateDir });
  const t1 = performance.now();
  await store.migrate();
  const t2 = performance.now();
  const rssOpen = mb();
  const signer = new AuditSigningKey(generateKeyPairSync('ed25519').privateKey);
  let peak = rssOpen;
  const t3 = performance.now();
  for (let i = 0; i < writes; i++) {
    const intent: AuditIntent = {
      id: randomUUID(),
      instance_id: 'probe',
      request_id: `req-${i}`,
      started_at: new Date().toISOString(),
      actor_kind: 'api-key',
      actor_subject: 'bench',
      actor_client_id: null,
      source_ip: '127.0.0.1',
      user_agent: 'probe',
      project_id: 'f96188c7ccaf4ffba0c9aa149ab2bd57',
      requested: { callback: [{ event_type: 'sms_reply_event', topic_urn: `urn:smn:cn-north-4:${'a'.repeat(32)}:test_reply` }] },
      before: { callback: [] },
    };
    await store.writeIntent(intent);
    const { instance_id: _instance, ...attempt } = intent;
    const record = { ...attempt, outcome: 'succeeded' as const, http_status: 200, error_code: null, upstream_status: 200, upstream_request_id: 'up' };
    await store.finalize(intent.id, { ...record, duration_ms: 1, amends: null }, signer);
    if (i % 200 === 0) peak = Math.max(peak, mb());
  }
  const t4 = performance.now();
  await store.close();
  const out = {
    openMs: Math.round(t1 - t0),
    migrateMs: Math.round(t2 - t1),
    rssOpenMb: rssOpen,
    writePairMs: writes ? +((t4 - t3) / writes).toFixed(2) : 0,
    rssPeakMb: Math.max(peak, mb()),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function run(dataDir: string, templateDir: string, writes: number): Record<string, number> {
  const output = execFileSync(process.execPath, [__filename, '--child', dataDir, templateDir, String(writes)], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as Record<string, number>;
}

function main(): void {
  const rounds = Number(process.argv[2] ?? 3);
  const writes = Number(process.argv[3] ?? 2000);
  const root = mkdtempSync(join(tmpdir(), 'embedded-probe-'));
  try {
    for (let round = 1; round <= rounds; round++) {
      const fromTemplate = join(root, `t${round}`);
      const byInitdb = join(root, `i${round}`);
      const rows = {
        'new dir, template': run(fromTemplate, BUILT_TEMPLATE_DIR, 0),
        'restart + writes': run(fromTemplate, BUILT_TEMPLATE_DIR, writes),
        'new dir, initdb': run(byInitdb, join(root, 'no-template'), 0),
      };
      for (const [name, row] of Object.entries(rows)) process.stdout.write(`round ${round}  ${name.padEnd(18)} ${JSON.stringify(row)}\n`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], Number(process.argv[5])).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
} else {
  main();
}
