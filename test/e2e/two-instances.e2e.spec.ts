import { conformingFetch } from '../support/openapi-conformance';
import { sql } from 'kysely';
import request from 'supertest';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import type { AuditRecord } from '../../src/audit/audit.types';
import type { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { DEMO_CREDENTIALS, RunningEmulator, startEmulator } from '../../src/emulator/emulator';
import { aRecord, anIntent } from '../audit/support/audit-factories';
import { postgresAvailable } from '../support/audit-backend';
import { assertBuilt, AuditBackend, createBackend, intentCount, newRequestId, recordsOf, runVerifyCli, waitFor } from '../support/audit-backend';
import { DEV_KEY, PROJECT_ID, REGION, urn } from '../support/bff-harness';
import { ChildBff, startChildBff } from '../support/child-bff';
import { emulatorRequests, injectFault } from '../support/emulator-admin';

/**
 * Two BFF processes on one PostgreSQL schema: the write-ahead audit's lease, sweep and amend rules as a
 * deployment with replicas meets them. Real processes, real SIGKILL, one emulated SMN behind both.
 */

const OTHER_PROJECT = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TOPICS = ['test_reply', 'test_fail', 'test_success'];
const pathOf = (project: string) => `/v2/${project}/notifications/sms/callback`;
const bodyFor = (project: string) => ({
  callback: [
    { event_type: 'sms_reply_event', topic_urn: urn('test_reply', project) },
    { event_type: 'sms_fail_event', topic_urn: urn('test_fail', project) },
  ],
});

/** The PUT's answers documented in the OpenAPI document (besides 200). */
const DOCUMENTED_ERRORS = [400, 401, 403, 404, 412, 413, 415, 429, 500, 502, 503, 504];

interface Answer {
  id: string;
  via: 'A' | 'B';
  status: number;
  code?: string;
  retryAfter?: string;
  ms: number;
}

/** One PUT as a client sends it; resolves with what the client saw (never rejects on a status). */
async function put(child: ChildBff, via: 'A' | 'B', project: string, id: string): Promise<Answer> {
  const started = Date.now();
  const res = await request(child.url)
    .put(pathOf(project))
    .set('X-Api-Key', DEV_KEY)
    .set('X-Request-Id', id)
    .set('User-Agent', 'two-instances-e2e')
    .send(bodyFor(project));
  const body = res.body as { code?: string };
  return { id, via, status: res.status, code: body?.code, retryAfter: res.headers['retry-after'] as string | undefined, ms: Date.now() - started };
}

/** How many stale-intent sweeps an instance has finished (the store port is metered). */
async function sweepsOf(child: ChildBff): Promise<number> {
  const text = await child.scrape();
  return Number(/^audit_write_duration_seconds_count\{operation="finalizeStaleIntents"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function moreSweeps(child: ChildBff, n: number): Promise<void> {
  const start = await sweepsOf(child);
  await waitFor(`${n} more sweeps`, async () => (await sweepsOf(child)) >= start + n);
}

async function verification(child: ChildBff): Promise<unknown> {
  const res = await conformingFetch(`${child.url}/audit/verification`, { headers: { 'x-api-key': DEV_KEY } });
  return { status: res.status, body: await res.json() };
}

async function allRecords(store: KyselyAuditStore): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const record of store.readChain()) records.push(record);
  return records;
}

/** One backend (fresh schema and signing key), one emulator, and the children of one case. */
function twoInstanceSuite(projects: string[]) {
  const suite = { children: [] as ChildBff[] } as { backend: AuditBackend; emulator: RunningEmulator; children: ChildBff[] };

  beforeAll(async () => {
    await assertBuilt();
    suite.backend = await createBackend('postgres');
    suite.emulator = await startEmulator({ projects: projects.map((projectId) => ({ projectId, region: REGION, topics: TOPICS })) });
  });
  afterAll(async () => {
    for (const child of suite.children) child.process.kill('SIGKILL');
    await Promise.all(suite.children.map((child) => child.exited));
    await suite.emulator?.close();
    await suite.backend?.teardown();
  });

  /** A BFF child on the suite's database and emulator; `env` only adds what the case is about. */
  async function start(env: Record<string, string> = {}): Promise<ChildBff> {
    const child = await startChildBff(
      suite.backend.processEnv({
        SMN_EMULATOR: 'false',
        SMN_PROJECTS: projects.map((project) => `${project}=${REGION}`).join(','),
        SMN_ENDPOINTS: `${REGION}=${suite.emulator.url}`,
        SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
        SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
        ...env,
      }),
    );
    suite.children.push(child);
    return child;
  }

  return { suite, start };
}

(postgresAvailable() ? describe : describe.skip)('two BFF instances on one PostgreSQL schema', () => {
  describe('20 concurrent PUTs to one project, 1.9 s upstream latency, default configuration', () => {
    const { suite, start } = twoInstanceSuite([PROJECT_ID]);

    it('gives every answer exactly one record, no unknown and no duplicate key, within the change deadline; the chain verifies', async () => {
      const [a, b] = await Promise.all([start(), start()]);
      await injectFault(suite.emulator, { kind: 'latency', latency_ms: 1_900, count: 1_000 });

      const attempts = Array.from({ length: 20 }, (_, i) => ({ id: newRequestId(`burst-${i}`), via: i % 2 === 0 ? ('A' as const) : ('B' as const) }));
      const answers = await Promise.all(attempts.map(({ id, via }) => put(via === 'A' ? a : b, via, PROJECT_ID, id)));
      const summary = answers.map(({ via, status, code, retryAfter, ms }) => `${via} ${status} ${code ?? ''} retry-after=${retryAfter ?? '-'} ${ms} ms`);

      // Within CHANGE_DEADLINE_MS (default 15 s) and a margin; the summary shows every answer on failure.
      expect({ late: answers.filter((x) => x.ms >= 15_000 + 2_000), summary }).toEqual({ late: [], summary });
      expect({ succeeded: answers.filter((x) => x.status === 200).length >= 1, summary }).toEqual({ succeeded: true, summary });
      const undocumented = answers.filter((x) => x.status !== 200 && !(DOCUMENTED_ERRORS.includes(x.status) && /^(BFF|SMN)\./.test(x.code ?? '')));
      expect({ undocumented, summary }).toEqual({ undocumented: [], summary });
      const busyWithoutRetryAfter = answers.filter((x) => x.code === 'BFF.PROJECT_BUSY' && !(x.status === 503 && /^[1-9][0-9]*$/.test(x.retryAfter ?? '')));
      expect({ busyWithoutRetryAfter, summary }).toEqual({ busyWithoutRetryAfter: [], summary });

      const store = await suite.backend.openStore();
      try {
        const records = await allRecords(store);
        // Nothing swept, nothing the pipeline itself could not tell: no `unknown` at all.
        expect(records.filter((r) => r.outcome === 'unknown')).toEqual([]);
        expect(records.filter((r) => r.amends !== null)).toEqual([]);
        // Exactly the 20 requests' records, one each, with the outcome matching the answer.
        expect(records).toHaveLength(20);
        for (const answer of answers) {
          const mine = records.filter((r) => r.request_id === answer.id);
          expect({ id: answer.id, status: answer.status, records: mine.map((r) => [r.outcome, r.http_status, r.error_code]) }).toEqual({
            id: answer.id,
            status: answer.status,
            records: [answer.status === 200 ? ['succeeded', 200, null] : [expect.any(String), answer.status, answer.code]],
          });
        }
        expect(await intentCount(store)).toBe(0);
      } finally {
        await store.close();
      }

      // Both replicas answered (which one wins the lock is not promised).
      expect(new Set(answers.map((x) => x.via))).toEqual(new Set(['A', 'B']));
      for (const child of [a, b]) expect(child.output()).not.toMatch(/duplicate key/i);
      expect(await verification(a)).toEqual({ status: 200, body: { intact: true, records: 20 } });
      expect(await verification(b)).toEqual({ status: 200, body: { intact: true, records: 20 } });
    }, 90_000);
  });

  describe('SIGKILL of an instance with a PUT in flight while another instance has one in flight too', () => {
    const { suite, start } = twoInstanceSuite([PROJECT_ID, OTHER_PROJECT]);
    // The age rule (CHANGE_DEADLINE_MS + AUDIT_STALE_MARGIN_MS = 75 s) is out of reach here: only the lease decides.
    const env = {
      AUDIT_LEASE_TTL_MS: '1500',
      AUDIT_SWEEP_INTERVAL_MS: '200',
      CHANGE_DEADLINE_MS: '60000',
      UPSTREAM_ATTEMPT_TIMEOUT_MS: '60000',
      UPSTREAM_DEADLINE_MS: '60000',
      UPSTREAM_MAX_RETRIES: '0',
    };

    it("sweeps the dead instance's intent as unknown once its lease expired, leaves the live one's alone, which then succeeds; the chain verifies", async () => {
      const [a, b] = await Promise.all([start(env), start(env)]);
      const killedId = newRequestId('killed');
      const liveId = newRequestId('live');
      await injectFault(suite.emulator, { kind: 'latency', latency_ms: 30_000, method: 'PUT', path: pathOf(PROJECT_ID), count: 1 });
      await injectFault(suite.emulator, { kind: 'latency', latency_ms: 8_000, method: 'PUT', path: pathOf(OTHER_PROJECT), count: 1 });
      const inFlightAtSmn = (id: string) => async () =>
        (await emulatorRequests(suite.emulator)).some((r) => r.caller_request_id === id && r.method === 'PUT' && r.status === null);

      const lost = put(a, 'A', PROJECT_ID, killedId).then(
        (answer) => answer.status,
        () => 'connection lost',
      );
      await waitFor("A's PUT to be in flight at SMN (its intent committed)", inFlightAtSmn(killedId));
      let liveSettled = false;
      const live = put(b, 'B', OTHER_PROJECT, liveId).finally(() => (liveSettled = true));
      await waitFor("B's PUT to be in flight at SMN (its intent committed)", inFlightAtSmn(liveId));

      const store = await suite.backend.openStore();
      try {
        const intents = await store.db.selectFrom('audit_intents').select(['request_id', 'instance_id']).execute();
        const instanceOf = new Map(intents.map((intent) => [intent.request_id, intent.instance_id]));
        expect(instanceOf.size).toBe(2);
        // Each intent carries its own instance, and the two instances are distinct.
        expect(instanceOf.get(killedId)).toEqual(expect.any(String));
        expect(instanceOf.get(liveId)).toEqual(expect.any(String));
        expect(instanceOf.get(killedId)).not.toBe(instanceOf.get(liveId));

        a.process.kill('SIGKILL');
        expect(await a.exited).toBe('SIGKILL');
        expect(await lost).toBe('connection lost');

        // B sweeps A's intent once A's lease (1.5 s) has expired.
        const [swept] = await waitFor(
          "A's intent to be swept as unknown",
          async () => {
            const records = await recordsOf(store, killedId);
            return records.length ? records : undefined;
          },
          10_000,
        );
        expect(swept).toMatchObject({ request_id: killedId, project_id: PROJECT_ID, outcome: 'unknown', http_status: null, amends: null });
        await b.waitForOutput('audit intent finalised as unknown');

        // B's own intent, younger than the age rule and with a live lease, stays through several more sweeps.
        expect(liveSettled).toBe(false);
        expect(await intentCount(store, liveId)).toBe(1);
        await moreSweeps(b, 3);
        expect(liveSettled).toBe(false);
        expect(await intentCount(store, liveId)).toBe(1);
        expect(await recordsOf(store, liveId)).toEqual([]);

        expect(await live).toMatchObject({ status: 200 });
        const records = await recordsOf(store, killedId, liveId);
        expect(records.map((r) => [r.request_id, r.outcome, r.amends])).toEqual([
          [killedId, 'unknown', null],
          [liveId, 'succeeded', null],
        ]);
        expect(await intentCount(store)).toBe(0);
      } finally {
        await store.close();
      }

      expect(b.output()).not.toMatch(/duplicate key/i);
      expect(await verification(b)).toEqual({ status: 200, body: { intact: true, records: 2 } });
      const cli = await runVerifyCli(suite.backend.processEnv());
      expect(cli.stdout.trim()).toMatch(/^audit chain intact: 2 records/);
      expect(cli.code).toBe(0);
    }, 90_000);
  });

  describe('a late final outcome of a live instance whose lease lapsed, swept meanwhile by the other instance', () => {
    const { suite, start } = twoInstanceSuite([PROJECT_ID]);

    it('answers 200 and appends the outcome as its own record amending the swept one; no duplicate key; the chain verifies', async () => {
      // A sweeps only at start, so whatever is swept later is swept by B.
      const a = await start({
        AUDIT_SWEEP_INTERVAL_MS: '600000',
        UPSTREAM_ATTEMPT_TIMEOUT_MS: '10000',
        UPSTREAM_DEADLINE_MS: '10000',
        UPSTREAM_MAX_RETRIES: '0',
      });
      const store = await suite.backend.openStore();
      try {
        const [{ instance_id: instanceA }] = await store.db.selectFrom('audit_instance_leases').select('instance_id').execute();
        // A's lease renewals stop counting (a partition between A and the lease, a stalled renewal): A lives on,
        // but to every other instance its lease has expired. Test-side, in the suite's own schema.
        await sql`create function lapse_lease() returns trigger language plpgsql as $$
          begin new.expires_at := now() - interval '1 second'; return new; end $$`.execute(store.db);
        await sql`create trigger lapse_lease before insert or update on audit_instance_leases
          for each row when (new.instance_id = ${sql.lit(instanceA)}) execute function lapse_lease()`.execute(store.db);
        await sql`update audit_instance_leases set expires_at = expires_at where instance_id = ${instanceA}`.execute(store.db);
        const b = await start({ AUDIT_SWEEP_INTERVAL_MS: '200' });
        const leases = await store.db.selectFrom('audit_instance_leases').select('instance_id').execute();
        expect(leases).toHaveLength(2);
        expect(leases.map((l) => l.instance_id)).toContain(instanceA);

        await injectFault(suite.emulator, { kind: 'latency', latency_ms: 5_000, method: 'PUT', path: pathOf(PROJECT_ID), count: 1 });
        const id = newRequestId('late');
        let settled = false;
        const answer = put(a, 'A', PROJECT_ID, id).finally(() => (settled = true));
        const [swept] = await waitFor("B to sweep A's in-flight intent as unknown", async () => {
          const records = await recordsOf(store, id);
          return records.length ? records : undefined;
        });
        expect(settled).toBe(false);
        expect(swept).toMatchObject({ request_id: id, outcome: 'unknown', http_status: null, amends: null });
        await b.waitForOutput('audit intent finalised as unknown');

        expect(await answer).toMatchObject({ status: 200 });
        const records = await recordsOf(store, id);
        expect(records.map((r) => [r.id, r.outcome, r.http_status, r.amends])).toEqual([
          [swept.id, 'unknown', null, null],
          [expect.not.stringMatching(swept.id), 'succeeded', 200, swept.id],
        ]);
        expect(await intentCount(store)).toBe(0);
        for (const child of [a, b]) expect(child.output()).not.toMatch(/duplicate key|not stored yet|NOT STORED/i);
        expect(await verification(b)).toEqual({ status: 200, body: { intact: true, records: 2 } });
      } finally {
        await store.close();
      }
    }, 60_000);
  });

  describe('a late final outcome after another instance swept its intent (two stores, two pools)', () => {
    let backend: AuditBackend;
    let one: KyselyAuditStore;
    let two: KyselyAuditStore;
    let key: AuditSigningKey;

    beforeAll(async () => {
      backend = await createBackend('postgres');
      key = AuditSigningKey.fromPem(backend.signingKeyPem);
      [one, two] = await Promise.all([backend.openStore(), backend.openStore()]);
    });
    afterAll(async () => {
      await Promise.all([one?.close(), two?.close()]);
      await backend?.teardown();
    });

    const expireLease = (instanceId: string) =>
      sql`update audit_instance_leases set expires_at = now() - interval '1 second' where instance_id = ${instanceId}`.execute(one.db);
    const lateOutcome = (intent: ReturnType<typeof anIntent>) => {
      const { instance_id: _instance, ...columns } = intent;
      return { ...aRecord(), ...columns, outcome: 'succeeded' as const, http_status: 200 };
    };

    it("appends the late outcome as its own record amending the swept one, once; the sweeper leaves the live instance's intent", async () => {
      await one.renewLease('instance-one', 60_000);
      await two.renewLease('instance-two', 60_000);
      const orphan = anIntent({ instance_id: 'instance-one' });
      const own = anIntent({ instance_id: 'instance-two' });
      await one.writeIntent(orphan);
      await two.writeIntent(own);
      // Instance one stalls past its lease (a long GC pause, a partition): to instance two it is gone.
      await expireLease('instance-one');

      const swept = await two.finalizeStaleIntents({ olderThanMs: 60_000 }, key);
      expect(swept.map((r) => [r.id, r.outcome])).toEqual([[orphan.id, 'unknown']]);
      expect(await intentCount(two, own.request_id)).toBe(1);

      // Instance one comes back and finishes its request: its outcome is not lost, nor a duplicate key.
      const amending = await one.finalize(orphan.id, lateOutcome(orphan), key);
      expect(amending).toMatchObject({ amends: orphan.id, outcome: 'succeeded', request_id: orphan.request_id });
      expect(amending.id).not.toBe(orphan.id);
      // Its retry (an answer lost on the way back), from either pool, is the same record.
      expect((await one.finalize(orphan.id, lateOutcome(orphan), key)).seq).toBe(amending.seq);
      expect((await two.finalize(orphan.id, lateOutcome(orphan), key)).seq).toBe(amending.seq);

      const ownRecord = await two.finalize(own.id, lateOutcome(own), key);
      expect(ownRecord).toMatchObject({ id: own.id, outcome: 'succeeded', amends: null });
      expect((await allRecords(one)).map((r) => [r.request_id, r.outcome, r.amends])).toEqual([
        [orphan.request_id, 'unknown', null],
        [orphan.request_id, 'succeeded', orphan.id],
        [own.request_id, 'succeeded', null],
      ]);
      expect(await intentCount(one)).toBe(0);
    });

    it("races the owner's final record against the other instance's sweep: either one record or unknown + amendment, never an error", async () => {
      const shapes = new Set<string>();
      for (let round = 0; round < 20; round++) {
        await one.renewLease('racer', 60_000);
        const intent = anIntent({ instance_id: 'racer' });
        await one.writeIntent(intent);
        await expireLease('racer');
        const [finalised, swept] = await Promise.all([
          one.finalize(intent.id, lateOutcome(intent), key),
          two.finalizeStaleIntents({ olderThanMs: 60_000 }, key),
        ]);
        const mine = (await recordsOf(one, intent.request_id)).map((r) => [
          r.id === intent.id ? 'id' : 'new',
          r.outcome,
          r.amends === intent.id ? 'amends' : r.amends,
        ]);
        const shape = JSON.stringify(mine);
        expect([
          JSON.stringify([['id', 'succeeded', null]]),
          JSON.stringify([
            ['id', 'unknown', null],
            ['new', 'succeeded', 'amends'],
          ]),
        ]).toContain(shape);
        expect(finalised.outcome).toBe('succeeded');
        expect(swept.length).toBe(mine.length - 1);
        shapes.add(shape);
      }
      expect(await intentCount(one)).toBe(0);
      const cli = await runVerifyCli(backend.processEnv());
      expect(cli.stdout.trim()).toMatch(/^audit chain intact: \d+ records/);
      expect(cli.code).toBe(0);
    });
  });
});
