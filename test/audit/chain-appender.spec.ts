import { sql } from 'kysely';
import { AuditRecord } from '../../src/audit/audit.types';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { runAuditVerify } from '../../src/audit/verify-audit-chain';
import { aRecord, aSigningKey, anIntent, PROJECT_A, PROJECT_B } from './support/audit-factories';
import { postgresAvailable, storeHarness, storePerSuite, storeKinds } from '../support/audit-backend';

const key = aSigningKey();

/**
 * The group commit of final records (src/audit/chain-appender.ts). Batches are made deterministic by the
 * appender's own rule: a call while no batch is being written starts one with what is queued at that moment
 * (itself), and every call made while it is written waits for the next batch, together.
 */
describe.each(storeKinds())('chain appender on %s', (kind) => {
  const harness = storeHarness(kind);
  let store: KyselyAuditStore;

  storePerSuite(harness, (opened) => (store = opened));

  const chain = async (): Promise<AuditRecord[]> => {
    const records: AuditRecord[] = [];
    for await (const record of store.readChain()) records.push(record);
    return records;
  };
  const verify = async () => {
    const lines: string[] = [];
    const code = await runAuditVerify({ store, publicKeyPem: key.publicKeyPem, dataDir: harness.location.dataDir }, (line) => lines.push(line));
    return { code, line: lines.join('\n') };
  };
  const count = async (table: 'audit_records' | 'audit_intents') =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0].n);

  it('chains concurrent finalizes in call order, several per transaction', async () => {
    const records = Array.from({ length: 30 }, (_, i) => aRecord({ project_id: i % 2 ? PROJECT_A : PROJECT_B, duration_ms: i }));
    const stored = await Promise.all(records.map((record) => store.finalize(null, record, key)));

    expect((await chain()).map((record) => record.id)).toEqual(records.map((record) => record.id));
    expect(stored.map((record) => record.seq)).toEqual(stored.map((_, i) => stored[0].seq + i));
    // The first call went alone; the 29 made while it was written shared one transaction (one recorded_at).
    expect(new Set(stored.slice(1).map((record) => record.recorded_at)).size).toBe(1);
    expect(await store.readHead()).toEqual({ seq: stored[29].seq, hash: stored[29].hash });
    expect(await verify()).toEqual({ code: 0, line: expect.stringContaining('audit chain intact: 30 records') });
  });

  it('claims every intent of a batch and stores each record once', async () => {
    const intents = Array.from({ length: 5 }, () => anIntent());
    for (const intent of intents) await store.writeIntent(intent);
    const finals = intents.map(({ instance_id: _, ...columns }) => ({ ...aRecord(), ...columns }));

    await Promise.all(finals.map((record, i) => store.finalize(intents[i].id, record, key)));

    expect(await count('audit_intents')).toBe(0);
    expect((await chain()).map((record) => record.id)).toEqual(intents.map((intent) => intent.id));
  });

  it('fails only the record a batch refused, and stores the others of that batch', async () => {
    const first = store.finalize(null, aRecord(), key);
    // Queued while the first is written: one batch, with one record the schema refuses (actor kind).
    const good = [aRecord(), aRecord(), aRecord()];
    const bad = aRecord({ actor_kind: 'not-a-kind' as never });
    const results = await Promise.allSettled([
      first,
      store.finalize(null, good[0], key),
      store.finalize(null, bad, key),
      ...good.slice(1).map((r) => store.finalize(null, r, key)),
    ]);

    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23514' });
    const ids = (await chain()).map((record) => record.id);
    expect(ids).toHaveLength(4);
    expect(ids.slice(1)).toEqual(good.map((record) => record.id));
    expect(await verify()).toMatchObject({ code: 0 });
  });

  it('stores a record queued twice in one batch once, and answers a retry of a stored one with it', async () => {
    const landed = await store.finalize(null, aRecord(), key);
    const twice = aRecord();
    const intent = anIntent({ id: twice.id, request_id: twice.request_id });
    await store.writeIntent(intent);
    const [, a, b, retried, fresh] = await Promise.all([
      store.finalize(null, aRecord(), key),
      store.finalize(intent.id, twice, key),
      store.finalize(intent.id, twice, key),
      store.finalize(null, { ...aRecord(), id: landed.id }, key),
      store.finalize(null, aRecord(), key),
    ]);

    expect(b).toEqual(a);
    expect(retried).toEqual(landed);
    expect(fresh.seq).toBeGreaterThan(a.seq);
    expect(await count('audit_records')).toBe(4);
    expect(await count('audit_intents')).toBe(0);
    expect(await verify()).toMatchObject({ code: 0 });
  });

  it('appends a late outcome of a swept intent once, as an amendment, also when it arrives twice in a batch', async () => {
    const intent = anIntent();
    await store.writeIntent(intent);
    await sql`update audit_intents set committed_at = now() - interval '10 minutes' where id = ${intent.id}`.execute(store.db);
    const [swept] = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);
    const { instance_id: _, ...columns } = intent;
    const late = { ...aRecord(), ...columns, outcome: 'succeeded' as const, http_status: 200 };

    const [, one, two, other] = await Promise.all([
      store.finalize(null, aRecord(), key),
      store.finalize(intent.id, late, key),
      store.finalize(intent.id, late, key),
      store.finalize(null, aRecord(), key),
    ]);

    expect(swept).toMatchObject({ id: intent.id, outcome: 'unknown', http_status: null });
    expect(one).toMatchObject({ amends: intent.id, outcome: 'succeeded', request_id: intent.request_id });
    expect(one.id).not.toBe(intent.id);
    expect(two).toEqual(one);
    expect(other.seq).not.toBe(one.seq);
    expect(await store.finalize(intent.id, late, key)).toEqual(one);
    expect(await count('audit_records')).toBe(4);
    expect(await verify()).toMatchObject({ code: 0 });
  });

  it('chains what the sweeper claims in one transaction, skipping intents whose record already landed', async () => {
    const intents = Array.from({ length: 4 }, () => anIntent());
    for (const intent of intents) await store.writeIntent(intent);
    // One of them is spent: its final record landed, then its (stalled) intent insert.
    const { instance_id: _, ...spent } = intents[1];
    await sql`delete from audit_intents where id = ${intents[1].id}`.execute(store.db);
    await store.finalize(null, { ...aRecord(), ...spent }, key);
    await store.writeIntent(intents[1]);
    await sql`update audit_intents set committed_at = now() - interval '10 minutes'`.execute(store.db);

    const swept = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);

    expect(swept.map((record) => record.id).sort()).toEqual([intents[0].id, intents[2].id, intents[3].id].sort());
    expect(new Set(swept.map((record) => record.recorded_at)).size).toBe(1);
    expect(await count('audit_intents')).toBe(0);
    expect(await count('audit_records')).toBe(4);
    expect(await verify()).toMatchObject({ code: 0 });
  });
});

(postgresAvailable() ? describe : describe.skip)('chain appender on postgres, two instances on one schema', () => {
  const harness = storeHarness('postgres');
  let one: KyselyAuditStore;
  let two: KyselyAuditStore;

  beforeAll(async () => {
    await harness.setup();
    [one, two] = await Promise.all([harness.open(), harness.open()]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    await harness.teardown();
  });

  it('keeps one verifiable chain while both append batches, finalise intents and sweep at once', async () => {
    const intents = Array.from({ length: 40 }, (_, i) => anIntent({ instance_id: i % 2 ? 'one' : 'two' }));
    await Promise.all(intents.map((intent, i) => (i % 2 ? one : two).writeIntent(intent)));
    // Ten of them belong to an instance that died: both sweepers race for them while finals are appended.
    const orphans = intents.slice(0, 10);
    await one.renewLease('one', 60_000);
    await one.renewLease('two', 60_000);
    await sql`update audit_intents set instance_id = 'dead' where id in (${sql.join(orphans.map((intent) => intent.id))})`.execute(one.db);
    const live = intents.slice(10);

    const [, , sweptOne, sweptTwo] = await Promise.all([
      Promise.all(live.map(({ instance_id: _, ...columns }, i) => (i % 2 ? one : two).finalize(columns.id, { ...aRecord(), ...columns }, key))),
      Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? two : one).finalize(null, aRecord(), key))),
      one.finalizeStaleIntents({ olderThanMs: 60_000 }, key),
      two.finalizeStaleIntents({ olderThanMs: 60_000 }, key),
    ]);

    expect([...sweptOne, ...sweptTwo].map((record) => record.id).sort()).toEqual(orphans.map((intent) => intent.id).sort());
    const lines: string[] = [];
    expect(await runAuditVerify({ store: two, publicKeyPem: key.publicKeyPem, dataDir: harness.location.dataDir }, (line) => lines.push(line))).toBe(0);
    expect(lines.join('\n')).toContain('audit chain intact: 80 records');
    expect(Number((await sql<{ n: string }>`select count(*) as n from audit_intents`.execute(one.db)).rows[0].n)).toBe(0);
  });
});
