import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { sql } from 'kysely';
import { Writable } from 'node:stream';
import pino from 'pino';
import { BffError } from '../../src/common/bff-error';
import { LoggingModule } from '../../src/common/logging.module';
import { AuditOptions } from '../../src/audit/audit-options';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import { AuditModule } from '../../src/audit/audit.module';
import { AuditService } from '../../src/audit/audit.service';
import { AuditStore } from '../../src/audit/audit.store';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import type { AuditIntent } from '../../src/audit/audit.types';
import { aRecord, anIntent, PROJECT_A, sleep } from './support/audit-factories';
import { resetAuditTables, StoreHarness, storeHarness, storeKinds, waitFor } from '../support/audit-backend';

const STALE_AFTER_MS = 60_000;

/** The attempt columns of a record, as the lifecycle hands them to `begin`. */
const intentColumns = (overrides: Partial<AuditIntent> = {}) => {
  const { instance_id: _instance, ...columns } = anIntent(overrides);
  return columns;
};

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
    changeDeadlineMs: 15_000,
    lockWaitMs: 5_000,
    statementTimeoutMs: 2_000,
    leaseTtlMs: 60_000,
    staleAfterMs: STALE_AFTER_MS,
    sweepIntervalMs,
    checkpointEveryRecords: 1_000,
    checkpointIntervalMs: 300_000,
    instanceId: 'test-instance',
  };
  const moduleRef = await Test.createTestingModule({
    imports: [LoggingModule.forRoot(pino(stream)), AuditModule.forRoot({ useFactory: () => options })],
  }).compile();
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

  it('writes the intent on begin and exactly one record on finalize, and logs it', async () => {
    const intent = intentColumns({ before: { callback: [] } });
    await audit.begin(intent, 2_000);
    expect(await count(store, 'audit_intents')).toBe(1);

    await audit.finalize(intent.id, aRecord({ ...intent, upstream_request_id: 'up-1' }));

    expect(await count(store, 'audit_intents')).toBe(0);
    const { items } = await audit.query({ projectIds: '*', limit: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: intent.id,
      request_id: intent.request_id,
      actor_kind: 'jwt',
      actor_subject: 'alice',
      project_id: PROJECT_A,
      requested: intent.requested,
      before: { callback: [] },
      outcome: 'succeeded',
      http_status: 200,
      upstream_request_id: 'up-1',
      amends: null,
    });
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, component: 'audit', msg: 'audit record', audit: expect.objectContaining({ seq: 1, id: intent.id }) }),
    ]);
  });

  it('records refused attempts without an intent, chained and signed', async () => {
    await audit.finalize(null, aRecord({ actor_kind: 'anonymous', outcome: 'denied', http_status: 401, error_code: 'BFF.UNAUTHENTICATED' }));
    await audit.finalize(null, aRecord({ outcome: 'invalid', http_status: 400, error_code: 'BFF.VALIDATION_FAILED' }));
    expect(await count(store, 'audit_intents')).toBe(0);
    await expect(verifyAuditChain(store, key.publicKeyPem)).resolves.toEqual({ ok: true, count: 2 });
  });

  it('keeps a record the store could not take and stores it with the next sweep, once, without throwing', async () => {
    const intent = intentColumns();
    await audit.begin(intent, 2_000);
    jest.spyOn(store, 'finalize').mockRejectedValueOnce(new Error('connection lost'));

    await expect(audit.finalize(intent.id, aRecord({ ...intent }))).resolves.toBeUndefined();

    expect(lines).toEqual([
      expect.objectContaining({ level: 50, msg: expect.stringMatching(/not stored yet/), audit: expect.objectContaining({ id: intent.id }) }),
    ]);
    expect(await count(store, 'audit_intents')).toBe(1);
    await audit.sweepStaleIntents();
    expect(await count(store, 'audit_intents')).toBe(0);
    const { items } = await audit.query({ projectIds: '*', limit: 10 });
    expect(items).toEqual([expect.objectContaining({ id: intent.id, outcome: 'succeeded' })]);
    await expect(verifyAuditChain(store, key.publicKeyPem)).resolves.toEqual({ ok: true, count: 1 });
  });

  it('leaves the young intents of this live instance to the requests still running them', async () => {
    await audit.begin(intentColumns(), 2_000);
    await expect(audit.sweepStaleIntents()).resolves.toEqual([]);
    expect(await count(store, 'audit_intents')).toBe(1);
  });

  it('fails closed with 503 when the intent cannot be committed in time', async () => {
    jest.spyOn(store, 'writeIntent').mockReturnValueOnce(new Promise<void>(() => undefined));
    await expect(audit.begin(intentColumns(), 50)).rejects.toMatchObject({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE' });
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
    await previous.writeIntent(anIntent({ instance_id: 'crashed-instance' }));
    await previous.close();

    const { app, audit, store } = await startAudit(harness, lines, 100);
    await audit.sweepStaleIntents(); // joins the start-up sweep
    expect(await count(store, 'audit_records')).toBe(1);

    await store.writeIntent(anIntent({ instance_id: 'another-crashed-instance' }));
    await waitFor('the periodic sweep to take the intent', async () => (await count(store, 'audit_intents')) === 0, 10_000);
    expect(await count(store, 'audit_records')).toBe(2);

    await app.close();

    // Closed store: a change must not be forwarded.
    const error = await audit.begin(intentColumns(), 2_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BffError);
    expect(error).toMatchObject({
      status: 503,
      code: 'BFF.AUDIT_UNAVAILABLE',
      message: 'The audit store cannot take the record; the change was not forwarded.',
    });
    await expect(audit.lockProject(PROJECT_A, 1_000)).rejects.toMatchObject({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE' });
    await expect(audit.finalize(null, aRecord({ outcome: 'denied', http_status: 403 }))).resolves.toBeUndefined();

    // No sweep runs after shutdown.
    const after = await harness.open();
    try {
      await after.writeIntent(anIntent({ instance_id: 'yet-another-crashed-instance' }));
      await sleep(300);
      expect(await count(after, 'audit_intents')).toBe(1);
    } finally {
      await after.close();
    }
  });
});
