import fc from 'fast-check';
import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { AuditRecord } from '../../src/audit/audit.types';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { aRecord, aSigningKey, anIntent, PROJECT_A, PROJECT_B, sleep } from './support/audit-factories';
import { projectLockKey } from '../../src/audit/postgres-audit.store';
import { postgresAvailable, storeHarness, storePerSuite, storeKinds, waitFor } from '../support/audit-backend';

const key = aSigningKey();

describe.each(storeKinds())('audit store on %s', (kind) => {
  const harness = storeHarness(kind);
  let store: KyselyAuditStore;

  storePerSuite(harness, (opened) => (store = opened));

  const countRows = async (table: 'audit_records' | 'audit_intents') =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0].n);

  const all = async (): Promise<AuditRecord[]> => {
    const records: AuditRecord[] = [];
    for await (const record of store.readChain()) records.push(record);
    return records;
  };

  describe('migrations', () => {
    it('can run again without changes', async () => {
      await store.migrate();
      await store.migrate();
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  describe('append', () => {
    it('turns an intent into exactly one record and removes the intent', async () => {
      const intent = anIntent();
      await store.writeIntent(intent);
      expect(await countRows('audit_intents')).toBe(1);

      const { instance_id: _, ...attempt } = intent;
      const stored = await store.finalize(intent.id, { ...aRecord(), ...attempt }, key);

      expect(await countRows('audit_intents')).toBe(0);
      expect(await all()).toEqual([stored]);
      expect(stored).toMatchObject({ id: intent.id, seq: 1, outcome: 'succeeded', prev_hash: '0'.repeat(64) });
      expect(await store.readHead()).toEqual({ seq: 1, hash: stored.hash });
    });

    it('appends records without intents and links each to the previous one', async () => {
      const first = await store.finalize(null, aRecord({ outcome: 'denied', http_status: 403, error_code: 'BFF.FORBIDDEN' }), key);
      const second = await store.finalize(null, aRecord({ outcome: 'invalid', http_status: 400 }), key);
      expect(second.prev_hash).toBe(first.hash);
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 2 });
    });

    it('stores the record exactly as it was hashed, whatever JSON the body holds', async () => {
      // Characters that jsonb, text columns or JSON escaping treat specially, plus ordinary ones.
      const awkward = fc.constantFrom('a', 'Z', ' ', '"', '\\', 'u', '0', '\u0000', '\u001f', '\ud800', '\udc00', '😀', 'é', '\u2028');
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ depthSize: 'small', stringUnit: awkward }), fc.string({ unit: awkward, maxLength: 20 }), async (requested, text) => {
          await store.finalize(null, aRecord({ requested: { requested, text, [text]: 1 } as never, user_agent: text }), key);
        }),
        { numRuns: 40 },
      );
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 40 });
    });

    it('keeps characters PostgreSQL cannot store from breaking the hash', async () => {
      const odd = 'nul\u0000 lone\ud800 pair\ud83d\ude00 escaped\\u0000';
      const stored = await store.finalize(null, aRecord({ requested: { [odd]: odd }, user_agent: odd, actor_subject: odd }), key);
      expect(stored.user_agent).toBe('nul\ufffd lone\ufffd pair\ud83d\ude00 escaped\\u0000');
      expect(await all()).toEqual([stored]);
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 1 });
    });

    it('does not fork under 50 concurrent appends', async () => {
      const records = await Promise.all(Array.from({ length: 50 }, () => store.finalize(null, aRecord(), key)));
      expect(new Set(records.map((record) => record.prev_hash)).size).toBe(50);
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 50 });
    });
  });

  describe('stale intents', () => {
    const age = (id: string, minutes: number) =>
      sql`update audit_intents set committed_at = now() - ${minutes}::int * interval '1 minute' where id = ${id}`.execute(store.db);

    it('finalises intents committed before the cut-off as unknown, and leaves younger ones of live instances', async () => {
      await store.renewLease('test-instance', 60_000);
      const old = anIntent({ before: { callback: [] } });
      const young = anIntent();
      await store.writeIntent(old);
      await store.writeIntent(young);
      await age(old.id, 10);
      await store.finalize(null, aRecord(), key);

      const written = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);

      expect(written).toHaveLength(1);
      expect(written[0]).toMatchObject({
        id: old.id,
        request_id: old.request_id,
        started_at: old.started_at,
        outcome: 'unknown',
        http_status: null,
        duration_ms: null,
        requested: old.requested,
        before: { callback: [] },
      });
      const intents = await sql<{ id: string }>`select id from audit_intents`.execute(store.db);
      expect(intents.rows).toEqual([{ id: young.id }]);
      expect(await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key)).toEqual([]);
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 2 });
    });

    it('finalises the young intents of an instance whose lease expired, never those of a live one', async () => {
      await store.renewLease('alive', 60_000);
      await store.renewLease('dead', 60_000);
      await sql`update audit_instance_leases set expires_at = now() - interval '1 second' where instance_id = 'dead'`.execute(store.db);
      const mine = anIntent({ instance_id: 'alive' });
      const orphan = anIntent({ instance_id: 'dead' });
      const unleased = anIntent({ instance_id: 'never-leased' });
      for (const intent of [mine, orphan, unleased]) await store.writeIntent(intent);

      const written = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);

      expect(written.map((record) => record.id).sort()).toEqual([orphan.id, unleased.id].sort());
      const intents = await sql<{ id: string }>`select id from audit_intents`.execute(store.db);
      expect(intents.rows).toEqual([{ id: mine.id }]);
    });

    it('appends a late final outcome as its own record amending the swept one', async () => {
      const intent = anIntent();
      await store.writeIntent(intent);
      await age(intent.id, 10);
      const [swept] = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);
      const { instance_id: _instance, ...columns } = intent;
      const late = { ...aRecord(), ...columns, outcome: 'succeeded' as const, http_status: 200 };

      const amending = await store.finalize(intent.id, late, key);
      // A retry of the same late write is stored once.
      const again = await store.finalize(intent.id, late, key);

      expect(swept).toMatchObject({ id: intent.id, outcome: 'unknown' });
      expect(amending).toMatchObject({ amends: intent.id, outcome: 'succeeded', request_id: intent.request_id });
      expect(amending.id).not.toBe(intent.id);
      expect(again.seq).toBe(amending.seq);
      expect(await countRows('audit_records')).toBe(2);
      expect(await verifyAuditChain(store, key.publicKeyPem)).toEqual({ ok: true, count: 2 });
    });

    it('stores a retried record once, and spends an intent that landed after its record', async () => {
      const record = aRecord();
      const first = await store.finalize(null, record, key);
      expect((await store.finalize(null, record, key)).seq).toBe(first.seq);
      // The intent's insert stalled on a connection and arrived after the attempt's record.
      const { id, request_id } = record;
      await store.writeIntent(anIntent({ id, request_id }));
      await age(id, 10);
      expect(await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key)).toEqual([]);
      expect(await countRows('audit_intents')).toBe(0);
      expect(await countRows('audit_records')).toBe(1);
    });

    it('finalises each intent once when two sweeps race', async () => {
      const intents = Array.from({ length: 5 }, () => anIntent());
      for (const intent of intents) await store.writeIntent(intent);
      for (const intent of intents) await age(intent.id, 1);
      const [a, b] = await Promise.all([store.finalizeStaleIntents({ olderThanMs: 1_000 }, key), store.finalizeStaleIntents({ olderThanMs: 1_000 }, key)]);
      expect(a.length + b.length).toBe(5);
      expect(await countRows('audit_records')).toBe(5);
    });
  });

  describe('query', () => {
    let records: AuditRecord[];

    beforeEach(async () => {
      records = [];
      const specs = [
        { project_id: PROJECT_A, actor_subject: 'alice', outcome: 'succeeded' },
        { project_id: PROJECT_B, actor_subject: 'bob', outcome: 'denied' },
        { project_id: PROJECT_A, actor_subject: 'bob', outcome: 'failed' },
        { project_id: PROJECT_A, actor_subject: 'alice', outcome: 'denied' },
        { project_id: PROJECT_B, actor_subject: 'alice', outcome: 'succeeded' },
      ] as const;
      for (const spec of specs) {
        records.push(await store.finalize(null, aRecord(spec), key));
        await sleep(3); // distinct recorded_at for the time-range filter
      }
    });

    const ids = (items: AuditRecord[]) => items.map((item) => item.seq);

    it('returns newest first, for the projects the caller may see', async () => {
      expect(ids((await store.query({ projectIds: '*', limit: 50 })).items)).toEqual([5, 4, 3, 2, 1]);
      expect(ids((await store.query({ projectIds: [PROJECT_A], limit: 50 })).items)).toEqual([4, 3, 1]);
      expect((await store.query({ projectIds: [], limit: 50 })).items).toEqual([]);
    });

    it('never shows another project, even when asked for it', async () => {
      const page = await store.query({ projectIds: [PROJECT_A], projectId: PROJECT_B, limit: 50 });
      expect(page).toEqual({ items: [], next_cursor: null });
    });

    it('filters by project, actor, outcome and time range', async () => {
      expect(ids((await store.query({ projectIds: '*', projectId: PROJECT_B, limit: 50 })).items)).toEqual([5, 2]);
      expect(ids((await store.query({ projectIds: '*', actor: 'alice', limit: 50 })).items)).toEqual([5, 4, 1]);
      expect(ids((await store.query({ projectIds: '*', outcome: 'denied', limit: 50 })).items)).toEqual([4, 2]);
      expect(ids((await store.query({ projectIds: [PROJECT_A], actor: 'alice', outcome: 'denied', limit: 50 })).items)).toEqual([4]);
      const from = new Date(records[1].recorded_at);
      const to = new Date(records[3].recorded_at);
      expect(ids((await store.query({ projectIds: '*', from, to, limit: 50 })).items)).toEqual([3, 2]);
    });

    it('pages without gaps or repeats, also while records are appended', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query({ projectIds: '*', limit: 2, cursor });
        seen.push(...ids(page.items));
        cursor = page.next_cursor ?? undefined;
        await store.finalize(null, aRecord(), key); // newer records must not shift the pages
      } while (cursor);
      expect(seen).toEqual([5, 4, 3, 2, 1]);
    });

    it('ends with a null cursor and caps the page size at 200', async () => {
      for (let i = 0; i < 200; i++) await store.finalize(null, aRecord({ project_id: PROJECT_B }), key);
      const page = await store.query({ projectIds: '*', limit: 1000 });
      expect(page.items).toHaveLength(200);
      const rest = await store.query({ projectIds: '*', limit: 200, cursor: page.next_cursor! });
      expect(rest.items).toHaveLength(5);
      expect(rest.next_cursor).toBeNull();
    });

    it('rejects a cursor it did not make', async () => {
      await expect(store.query({ projectIds: '*', limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({
        status: 400,
        code: 'BFF.VALIDATION_FAILED',
      });
    });
  });

  it('reports the intent backlog by its own clock: none, then the pending ones and the oldest age', async () => {
    await expect(store.intentBacklog()).resolves.toEqual({ pending: 0, oldestAgeMs: null });
    await store.writeIntent(anIntent());
    await store.writeIntent(anIntent());
    const backlog = await store.intentBacklog();
    expect(backlog.pending).toBe(2);
    expect(backlog.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(backlog.oldestAgeMs).toBeLessThan(60_000);
  });

  describe('project lock', () => {
    it('serialises critical sections of one project and overlaps different projects', async () => {
      const events: string[] = [];
      // a1 holds its lock until b is in: if locks of different projects excluded each other, b never would be.
      const bEntered = signal('b to enter while a1 holds the lock of another project');
      const section = (name: string, projectId: string, hold: () => Promise<void> = () => Promise.resolve()) =>
        withLock(store, projectId, async () => {
          events.push(`${name}:in`);
          if (name === 'b') bEntered.fire();
          await hold();
          events.push(`${name}:out`);
        });
      await Promise.all([section('a1', PROJECT_A, bEntered.wait), section('a2', PROJECT_A), section('b', PROJECT_B)]);
      const sameProject = events.filter((event) => event.startsWith('a'));
      // In arrival order: waiting queues in the process.
      expect(sameProject).toEqual(['a1:in', 'a1:out', 'a2:in', 'a2:out']);
      expect(events.indexOf('b:in')).toBeLessThan(events.indexOf(sameProject[1]));
    });

    it('answers PROJECT_BUSY to a wait longer than its budget, and frees the lock for the next one', async () => {
      const held = await store.lockProject(PROJECT_A, 1_000);
      await expect(store.lockProject(PROJECT_A, 50)).rejects.toMatchObject({ status: 503, code: 'BFF.PROJECT_BUSY', headers: { 'retry-after': '1' } });
      await held.release();
      await held.release(); // idempotent
      const next = await store.lockProject(PROJECT_A, 50);
      expect(next.lost.aborted).toBe(false);
      await next.release();
    });

    it('allows appends while it is held', async () => {
      const stored = await withLock(store, PROJECT_A, () => store.finalize(null, aRecord(), key));
      expect(stored.seq).toBe(1);
    });
  });
});

/** Runs `fn` holding the project's lock. */
async function withLock<T>(store: KyselyAuditStore, projectId: string, fn: () => Promise<T>): Promise<T> {
  const lock = await store.lockProject(projectId, 10_000);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

(postgresAvailable() ? describe : describe.skip)('audit store on postgres, two instances', () => {
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

  it('keeps one chain under 50 concurrent appends from two pools', async () => {
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).finalize(null, aRecord({ id: randomUUID() }), key)));
    expect(records).toHaveLength(50);
    expect(new Set(records.map((record) => record.prev_hash)).size).toBe(50);
    expect(await verifyAuditChain(one, key.publicKeyPem)).toEqual({ ok: true, count: 50 });
  });

  it('serialises a project across instances', async () => {
    const events: string[] = [];
    // The first holder of PROJECT_A keeps it until the other project's section is in (see the test above).
    const otherEntered = signal("the other project's section to enter while PROJECT_A is held");
    let first = true;
    const section = (name: string, store: KyselyAuditStore, projectId: string) =>
      withLock(store, projectId, async () => {
        events.push(`${name}:in`);
        if (name === 'other') otherEntered.fire();
        else if (first) {
          first = false;
          await otherEntered.wait();
        }
        events.push(`${name}:out`);
      });
    await Promise.all([section('one', one, PROJECT_A), section('two', two, PROJECT_A), section('other', two, PROJECT_B)]);
    const sameProject = events.filter((event) => !event.startsWith('other'));
    expect([
      ['one:in', 'one:out', 'two:in', 'two:out'],
      ['two:in', 'two:out', 'one:in', 'one:out'],
    ]).toContainEqual(sameProject);
    expect(events.indexOf('other:in')).toBeLessThan(events.indexOf(sameProject[1]));
  });

  /** The sessions holding PROJECT_A's advisory lock (the key is split into classid and objid in pg_locks). */
  const holdersOfA = async (store: KyselyAuditStore): Promise<number[]> => {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
    const key = BigInt.asUintN(64, BigInt(projectLockKey(PROJECT_A, rows[0].schema)));
    const holders = await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory' and granted
      and classid = ${String(key >> 32n)}::oid and objid = ${String(key & 0xffffffffn)}::oid and objsubid = 1`.execute(store.db);
    return holders.rows.map((row) => row.pid);
  };

  it('hands the session lock to the next change of the project in the same process, without unlocking', async () => {
    const first = await one.lockProject(PROJECT_A, 1_000);
    const [session] = await holdersOfA(one);
    const next = one.lockProject(PROJECT_A, 1_000);
    await first.release();
    const second = await next;
    expect(await holdersOfA(one)).toEqual([session]);
    await second.release();
    expect(await holdersOfA(one)).toEqual([]);
  });

  it('takes a new session lock when the one handed over was lost meanwhile', async () => {
    const first = await one.lockProject(PROJECT_A, 1_000);
    const [session] = await holdersOfA(one);
    const next = one.lockProject(PROJECT_A, 5_000);
    await sql`select pg_terminate_backend(${session})`.execute(one.db);
    await waitFor('the lock to be reported lost', async () => first.lost.aborted);
    await first.release();
    const second = await next;
    expect(second.lost.aborted).toBe(false);
    const holders = await holdersOfA(one);
    expect(holders).toHaveLength(1);
    expect(holders[0]).not.toBe(session);
    await second.release();
  });

  it('answers PROJECT_BUSY when another instance holds the lock past the wait', async () => {
    const held = await one.lockProject(PROJECT_A, 1_000);
    try {
      await expect(two.lockProject(PROJECT_A, 100)).rejects.toMatchObject({ status: 503, code: 'BFF.PROJECT_BUSY' });
    } finally {
      await held.release();
    }
    const next = await two.lockProject(PROJECT_A, 1_000);
    await next.release();
  });
});

/** A one-shot event to wait for, failing with `what` instead of hanging when it never comes. */
function signal(what: string, timeoutMs = 10_000): { fire(): void; wait(): Promise<void> } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return {
    fire,
    wait: () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
        void fired.then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
