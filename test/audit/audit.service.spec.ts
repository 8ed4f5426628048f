import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { sql } from 'kysely';
import { Writable } from 'node:stream';
import pino from 'pino';
import { BffError } from '../../src/common/bff-error';
import { AuditOptions } from '../../src/audit/audit-options';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import { AuditModule } from '../../src/audit/audit.module';
import { AuditService } from '../../src/audit/audit.service';
import { AuditStore } from '../../src/audit/audit.store';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { anAttempt, anIntent, PROJECT_A, sleep } from './support/audit-factories';
import { resetAuditTables, StoreHarness, storeHarness, storeKinds } from './support/audit-test-stores';


const STALE_AFTER_MS = 60_000;

/** A Nest context with AuditModule wired as the lead will wire it, logging into `lines`. */
async function startAudit(harness: StoreHarness, lines: Record<string, unknown>[], sweepIntervalMs = 60_000) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const options: AuditOptions = {
    ...harness.location,
    staleAfterMs: STALE_AFTER_MS,
    sweepIntervalMs,
    instanceId: 'test-instance',
    logger: pino(stream),
  };
  const moduleRef = await Test.createTestingModule({ imports: [AuditModule.forRoot({ useFactory: () => options })] }).compile();
  const app = await moduleRef.init();
  return {
    app,
    audit: app.get(AuditService),
    store: app.get(AuditStore) as KyselyAuditStore,
    key: app.get(AuditSigningKey),
  };
}

const count = async (store: KyselyAuditStore, table: 'audit_records' | 'audit_intents') =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0].n);

const longAgo = () => new Date(Date.now() - 10 * 60_000);

describe.each(storeKinds())('AuditService on %s', (kind) => {
  const harness = storeHarness(kind);
  const lines: Record<string, unknown>[] = [];
  let app: INestApplicationContext;
  let audit: AuditService;
  let store: KyselyAuditStore;
  let key: AuditSigningKey;

  beforeAll(async () => {
    await harness.setup();
    ({ app, audit, store, key } = await startAudit(harness, lines));
  });
  afterAll(async () => {
    await app?.close();
    await harness.teardown();
  });
  beforeEach(async () => {
    await audit.sweepStaleIntents(); // let the start-up sweep settle before wiping
    await resetAuditTables(store);
    lines.length = 0;
  });

  it('writes the intent on begin and exactly one record on complete, and logs it', async () => {
    const attempt = anAttempt({ startedAt: new Date(Date.now() - 40), before: { callback: [] } });
    const ticket = await audit.begin(attempt);
    expect(await count(store, 'audit_intents')).toBe(1);

    await audit.complete(ticket, { outcome: 'succeeded', httpStatus: 200, upstreamStatus: 200, upstreamRequestId: 'up-1' });

    expect(await count(store, 'audit_intents')).toBe(0);
    const { items } = await audit.query({ projectIds: '*', limit: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: ticket.intentId,
      request_id: attempt.requestId,
      actor_kind: 'api-key',
      actor_subject: 'billing-service',
      actor_client_id: null,
      source_ip: '10.0.0.7',
      user_agent: 'jest',
      project_id: PROJECT_A,
      requested: attempt.requested,
      before: { callback: [] },
      outcome: 'succeeded',
      http_status: 200,
      error_code: null,
      upstream_status: 200,
      upstream_request_id: 'up-1',
    });
    expect(items[0].duration_ms).toBeGreaterThanOrEqual(40);
    expect(lines).toEqual([expect.objectContaining({ level: 30, component: 'audit', msg: 'audit record', audit: expect.objectContaining({ seq: 1, id: ticket.intentId }) })]);
  });

  it('records denied and invalid attempts without an intent, chained and signed', async () => {
    await audit.record(anAttempt({ actor: { kind: 'anonymous' } }), { outcome: 'denied', httpStatus: 401, errorCode: 'BFF.UNAUTHENTICATED' });
    await audit.record(anAttempt(), { outcome: 'invalid', httpStatus: 400, errorCode: 'BFF.VALIDATION_FAILED', before: { callback: [] } });
    expect(await count(store, 'audit_intents')).toBe(0);
    await expect(verifyAuditChain(store, key.publicKeyPem)).resolves.toEqual({ ok: true, count: 2 });
  });

  it('leaves the intent for the sweeper when the record cannot be written, without throwing', async () => {
    const ticket = await audit.begin(anAttempt({ startedAt: longAgo() }));
    jest.spyOn(store, 'finalize').mockRejectedValueOnce(new Error('connection lost'));

    await expect(audit.complete(ticket, { outcome: 'succeeded', httpStatus: 200 })).resolves.toBeUndefined();

    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: expect.stringMatching(/AUDIT RECORD NOT STORED/), audit: expect.objectContaining({ id: ticket.intentId }) })]);
    expect(await count(store, 'audit_intents')).toBe(1);
    const swept = await audit.sweepStaleIntents();
    expect(swept).toEqual([expect.objectContaining({ id: ticket.intentId, outcome: 'unknown' })]);
    expect(lines.at(-1)).toMatchObject({ level: 40, audit: { outcome: 'unknown' } });
    await expect(verifyAuditChain(store, key.publicKeyPem)).resolves.toEqual({ ok: true, count: 1 });
  });

  it('leaves younger intents to the requests still running them', async () => {
    await audit.begin(anAttempt({ startedAt: new Date(Date.now() - STALE_AFTER_MS / 2) }));
    await expect(audit.sweepStaleIntents()).resolves.toEqual([]);
    expect(await count(store, 'audit_intents')).toBe(1);
  });

  it('lets errors of the locked section through unchanged', async () => {
    const failure = new BffError(412, 'BFF.PRECONDITION_FAILED', 'changed');
    await expect(audit.withProjectLock(PROJECT_A, () => Promise.reject(failure))).rejects.toBe(failure);
    await expect(audit.withProjectLock(PROJECT_A, () => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe.each(storeKinds())('AuditService lifecycle on %s', (kind) => {
  const harness = storeHarness(kind);
  const lines: Record<string, unknown>[] = [];

  beforeEach(() => harness.setup());
  afterEach(() => harness.teardown());

  it('sweeps at start and periodically, stops on shutdown, then fails closed', async () => {
    // A crash left an intent behind before this instance started.
    const previous = await harness.open();
    await previous.writeIntent(anIntent({ started_at: longAgo().toISOString() }));
    await previous.close();

    const { app, audit, store } = await startAudit(harness, lines, 100);
    await audit.sweepStaleIntents(); // joins the start-up sweep
    expect(await count(store, 'audit_records')).toBe(1);

    await store.writeIntent(anIntent({ started_at: longAgo().toISOString() }));
    for (let i = 0; i < 50 && (await count(store, 'audit_intents')) > 0; i++) await sleep(50);
    expect(await count(store, 'audit_records')).toBe(2);

    await app.close();

    // Closed store: a change must not be forwarded.
    const error = await audit.begin(anAttempt()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BffError);
    expect(error).toMatchObject({
      status: 503,
      code: 'BFF.AUDIT_UNAVAILABLE',
      message: 'The audit store cannot take the record; the change was not forwarded.',
    });
    await expect(audit.withProjectLock(PROJECT_A, () => Promise.resolve())).rejects.toMatchObject({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE' });
    await expect(audit.record(anAttempt(), { outcome: 'denied', httpStatus: 403 })).resolves.toBeUndefined();

    // No sweep runs after shutdown.
    const after = await harness.open();
    try {
      await after.writeIntent(anIntent({ started_at: longAgo().toISOString() }));
      await sleep(300);
      expect(await count(after, 'audit_intents')).toBe(1);
    } finally {
      await after.close();
    }
  });
});
