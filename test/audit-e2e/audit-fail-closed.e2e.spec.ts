import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { CALLBACK_PATH, Harness, SEED_BODY, startHarness } from '../support/bff-harness';
import { emulatorRequests, resetEmulator } from '../support/emulator-admin';
import { testDatabaseUrl } from '../support/audit-backend';
import {
  adminQuery,
  AuditBackend,
  storeKinds,
  createBackend,
  intentCount,
  newRequestId,
  recordsOf,
  storeOf,
  auditHarnessPerSuite,
} from '../support/audit-backend';

const smnCallsOf = async (h: Harness, requestId: string) =>
  (await emulatorRequests(h.emulator)).filter((r) => r.caller_request_id === requestId).map((r) => r.method);

/** The audit is written ahead and fails closed (README, Audit): no durable intent, no upstream change. */
describe.each(storeKinds())('audit fails closed on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { LOG_LEVEL: 'warn' });
  beforeEach(() => resetEmulator(suite.h.emulator));

  const put = (requestId: string) => suite.h.api.put(CALLBACK_PATH).set('X-Request-Id', requestId).send(SEED_BODY);

  it('answers 503 BFF.AUDIT_UNAVAILABLE when the intent cannot be committed, and never sends the PUT', async () => {
    const store = storeOf(suite.h);
    // The intents table refuses every insert; everything else (the lock, the final record) still works.
    await sql`create function audit_e2e_refuse() returns trigger language plpgsql as $$ begin raise exception 'intents refused by the test'; end $$`.execute(
      store.db,
    );
    await sql`create trigger audit_e2e_refuse_intents before insert on audit_intents for each row execute function audit_e2e_refuse()`.execute(store.db);
    try {
      const id = newRequestId('no-intent');
      const res = await put(id).expect(503);
      expect(res.body).toMatchObject({ code: 'BFF.AUDIT_UNAVAILABLE', request_id: id });
      // The configuration before was read under the lock; the change itself never left.
      expect(await smnCallsOf(suite.h, id)).toEqual(['GET']);
      // The attempt still has its one record, saying what the caller got.
      expect(await recordsOf(store, id)).toEqual([
        expect.objectContaining({ outcome: 'failed', http_status: 503, error_code: 'BFF.AUDIT_UNAVAILABLE', upstream_status: null }),
      ]);
      expect(await intentCount(store, id)).toBe(0);
    } finally {
      await sql`drop trigger audit_e2e_refuse_intents on audit_intents`.execute(store.db);
      await sql`drop function audit_e2e_refuse()`.execute(store.db);
    }

    const after = newRequestId('intents-back');
    await put(after).expect(200);
    expect(await smnCallsOf(suite.h, after)).toEqual(['GET', 'PUT']);
  });

  // Last in this suite: the store stays closed.
  it('answers 503 BFF.AUDIT_UNAVAILABLE when the store is gone, calls SMN not at all, and readiness goes down', async () => {
    await storeOf(suite.h).close();
    const id = newRequestId('store-closed');
    const res = await put(id).expect(503);
    expect(res.body).toMatchObject({ code: 'BFF.AUDIT_UNAVAILABLE', request_id: id });
    expect(await smnCallsOf(suite.h, id)).toEqual([]);
    expect((await suite.h.api.get('/health/ready').expect(503)).body.error).toHaveProperty('audit');
    // Reads are not audited and keep working.
    await suite.h.api.get(CALLBACK_PATH).expect(200);
  });
});

const postgresOnly = process.env.TEST_DATABASE_URL ? describe : describe.skip;

postgresOnly('audit fails closed when the PostgreSQL database becomes unreachable', () => {
  // A throwaway database of our own (the name must contain "test"), so that refusing connections hurts no one.
  const database = `sms_callback_bff_test_failclosed_${randomBytes(4).toString('hex')}`;
  let h: Harness;
  let backend: AuditBackend;

  beforeAll(async () => {
    backend = await createBackend('pglite'); // only for its DATA_DIR and signing key
    await adminQuery(`create database ${database}`);
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${database}`;
    h = await startHarness({ ...backend.harnessEnv({ LOG_LEVEL: 'error' }), DATABASE_URL: url.toString() });
  });
  afterAll(async () => {
    await h?.close();
    await adminQuery(`alter database ${database} allow_connections true`).catch(() => undefined);
    await adminQuery(`drop database if exists ${database} with (force)`);
    await backend?.teardown();
  });

  const put = (requestId: string) => h.api.put(CALLBACK_PATH).set('X-Request-Id', requestId).send(SEED_BODY);

  it('refuses changes while the database is away (no PUT reaches SMN) and recovers without a restart', async () => {
    await put(newRequestId('before-outage')).expect(200);

    await adminQuery(`alter database ${database} allow_connections false`);
    await adminQuery(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`);
    try {
      await resetEmulator(h.emulator);
      const ids = [newRequestId('outage-1'), newRequestId('outage-2')];
      for (const id of ids) {
        const res = await put(id).expect(503);
        expect(res.body.code).toBe('BFF.AUDIT_UNAVAILABLE');
      }
      expect((await emulatorRequests(h.emulator)).filter((r) => r.method === 'PUT')).toEqual([]);
    } finally {
      await adminQuery(`alter database ${database} allow_connections true`);
    }

    const back = newRequestId('after-outage');
    await put(back).expect(200);
    expect(await recordsOf(storeOf(h), back)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
  });
});
