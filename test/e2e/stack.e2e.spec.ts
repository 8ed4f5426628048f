import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import { PostgresAuditStore } from '../../src/audit/postgres-audit.store';
import { RunningStack, startStack } from '../../scripts/stack';
import { assertBuilt, newRequestId, postgresAvailable, recordsOf } from '../support/audit-backend';
import { createTestSchema, TestSchema } from '../support/audit-databases';
import { CALLBACK_PATH, SEED_BODY } from '../support/bff-harness';
import { sample, scrapeMetrics } from '../support/metrics-scrape';
import { childEnv } from '../support/test-run';

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const LIMIT = 150;

/**
 * `npm run stack` as an operator runs it: the emulator, two production-mode instances on PostgreSQL and
 * Redis, a round-robin balancer. 200 mixed requests through the balancer with one caller whose budget is
 * 150: both instances serve, the budget is shared (150 answered, 50 refused, not 300 answered), every PUT
 * answered has exactly one record, and the chain verifies; each instance's metrics are on a port of its own.
 */
(postgresAvailable() ? describe : describe.skip)('npm run stack', () => {
  let dir: string;
  let schema: TestSchema;
  let stack: RunningStack;

  beforeAll(async () => {
    await assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'stack-'));
    schema = await createTestSchema('stack');
    // Budgets of its own in the shared Redis (the key's name, "operator", is every stack's).
    stack = await startStack({
      port: 0,
      databaseUrl: schema.databaseUrl,
      redisUrl: REDIS_URL,
      dir,
      // The run mark, so the global teardown would find a process this suite failed to stop.
      processEnv: childEnv({}),
      env: {
        RATE_LIMIT_CALLER_LIMIT: String(LIMIT),
        RATE_LIMIT_REDIS_PREFIX: `sms-callback-bff:test:${schema.name}:`,
        // The shared budget is under test here, not the degraded mode (test/auth/redis-degraded.spec.ts): on a busy
        // machine one Redis answer slower than the default 100 ms would send an instance to counting on its own.
        RATE_LIMIT_REDIS_TIMEOUT_MS: '2000',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('balances 200 mixed requests over both instances, shares the rate limit, audits every PUT once, and the chain verifies', async () => {
    const headers = { 'X-Api-Key': stack.apiKey!, 'Content-Type': 'application/json' };
    const requests = Array.from({ length: 200 }, (_, i) => ({ id: newRequestId(`stack-${i}`), put: i % 4 === 0 }));
    const answers: Array<{ id: string; put: boolean; status: number }> = [];
    // Four at a time: PUTs to the one project queue for its lock, and the answers stay well inside the deadline.
    for (let at = 0; at < requests.length; at += 4) {
      answers.push(
        ...(await Promise.all(
          requests.slice(at, at + 4).map(async ({ id, put }) => {
            const res = await fetch(`${stack.url}${CALLBACK_PATH}`, {
              method: put ? 'PUT' : 'GET',
              headers: { ...headers, 'X-Request-Id': id },
              ...(put ? { body: JSON.stringify(SEED_BODY) } : {}),
            });
            await res.arrayBuffer();
            return { id, put, status: res.status };
          }),
        )),
      );
    }
    expect(stack.served).toEqual([100, 100]);
    const byStatus = answers.reduce<Record<number, number>>((counts, a) => ({ ...counts, [a.status]: (counts[a.status] ?? 0) + 1 }), {});
    // One budget across both instances: with per-instance counting each would answer up to 150.
    expect(byStatus).toEqual({ 200: LIMIT, 429: 200 - LIMIT });

    const store = await PostgresAuditStore.open({ databaseUrl: schema.databaseUrl });
    try {
      const answeredPuts = answers.filter((a) => a.put && a.status === 200).map((a) => a.id);
      const refusedPuts = answers.filter((a) => a.put && a.status === 429).map((a) => a.id);
      const records = await recordsOf(store, ...answeredPuts, ...refusedPuts);
      expect(records.map((r) => r.request_id).sort()).toEqual([...answeredPuts].sort());
      expect(records.every((r) => r.outcome === 'succeeded' && r.actor_subject === 'operator')).toBe(true);
      const key = AuditSigningKey.fromPem(readFileSync(join(dir, 'audit-signing-key.pem'), 'utf8'));
      await expect(verifyAuditChain(store, key.publicKeyPem)).resolves.toMatchObject({ ok: true, count: answeredPuts.length });
    } finally {
      await store.close();
    }

    // Each instance is scraped on a metrics port of its own, which the balancer does not route: together
    // they saw every refusal once.
    expect(new Set(stack.metrics.map((url) => new URL(url).port)).size).toBe(2);
    const scraped = await Promise.all(stack.metrics.map(scrapeMetrics));
    expect(scraped.map((text) => sample(text, 'rate_limit_rejections_total', { kind: 'caller' }) ?? 0).reduce((a, b) => a + b)).toBe(200 - LIMIT);
    const viaBalancer = await fetch(`${stack.url}/metrics`);
    expect({ status: viaBalancer.status, code: ((await viaBalancer.json()) as { code: string }).code }).toEqual({ status: 404, code: 'BFF.NOT_FOUND' });
  }, 120_000);
});
