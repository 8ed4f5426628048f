import { sql } from 'kysely';
import { CALLBACK_PATH, Harness, PROJECT_ID, REGION, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { resetEmulator } from '../support/emulator-admin';
import { GENESIS_HASH } from '../../src/audit/audit-chain';
import { assertBuilt, AuditBackend, createBackend, newRequestId, recordsOf, runVerifyCli, storeOf } from '../support/audit-backend';

const SECOND_PROJECT = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TOPICS = ['test_reply', 'test_fail', 'test_success'];
const pathOf = (project: string) => `/v2/${project}/notifications/sms/callback`;

const postgresOnly = process.env.TEST_DATABASE_URL ? describe : describe.skip;

/** The audit chain (docs/architecture.md): appends are serialised so that the chain never forks, also with several instances (PostgreSQL). */
postgresOnly('two instances on one PostgreSQL database', () => {
  let backend: AuditBackend;
  let one: Harness;
  let two: Harness;

  beforeAll(async () => {
    await assertBuilt();
    backend = await createBackend('postgres');
    const projects = `${PROJECT_ID}=${REGION},${SECOND_PROJECT}=${REGION}`;
    one = await startHarness(backend.harnessEnv({ SMN_PROJECTS: projects }), {
      projects: [
        { projectId: PROJECT_ID, region: REGION, topics: TOPICS },
        { projectId: SECOND_PROJECT, region: REGION, topics: TOPICS },
      ],
    });
    // Both talk to the first one's emulator: one SMN, two BFF replicas.
    two = await startHarness(backend.harnessEnv({ SMN_PROJECTS: projects, SMN_ENDPOINTS: `${REGION}=${one.emulator.url}` }));
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
    await backend?.teardown();
  });
  beforeEach(() => resetEmulator(one.emulator));

  it('50 concurrent PUTs spread over both: 50 records, one unforked chain that verifies', async () => {
    const attempts = Array.from({ length: 50 }, (_, i) => {
      const project = i % 4 < 2 ? PROJECT_ID : SECOND_PROJECT;
      const body =
        i % 3 === 0
          ? { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] }
          : { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', project) }] };
      return { id: newRequestId(`burst-${i}`), via: i % 2 === 0 ? one : two, project, body };
    });
    const statuses = await Promise.all(
      attempts.map(({ id, via, project, body }) =>
        via.api
          .put(pathOf(project))
          .set('X-Request-Id', id)
          .send(body)
          .then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(50).fill(200));

    const store = storeOf(one);
    const records = await recordsOf(store, ...attempts.map((a) => a.id));
    expect(records).toHaveLength(50);
    expect(new Set(records.map((r) => r.request_id)).size).toBe(50);
    expect(records.every((r) => r.outcome === 'succeeded')).toBe(true);
    // Both replicas wrote records.
    for (const h of [one, two]) expect(h.logs.filter((line) => line.msg === 'audit record').length).toBe(25);

    // The whole table (a fresh schema): 50 rows, seq 1..50, each linked to its predecessor, no shared prev_hash.
    const { rows } = await sql<{ n: string; prevs: string; seqs: string }>`
      select count(*) as n, count(distinct prev_hash) as prevs, count(distinct seq) as seqs from audit_records`.execute(store.db);
    expect(rows[0]).toEqual({ n: '50', prevs: '50', seqs: '50' });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    records.forEach((record, i) => expect(record.prev_hash).toBe(i === 0 ? GENESIS_HASH : records[i - 1].hash));
    expect(await store.readHead()).toEqual({ seq: 50, hash: records[49].hash });

    expect((await two.api.get('/audit/verification').expect(200)).body).toEqual({ intact: true, records: 50 });
    const cli = await runVerifyCli(backend.processEnv());
    expect(cli.stdout.trim()).toMatch(/^audit chain intact: 50 records \(without a saved checkpoint/);
    expect(cli.code).toBe(0);
  });

  it('If-Match across instances: the project lock is shared, so exactly one of two racing PUTs wins', async () => {
    const tag = (await one.api.get(CALLBACK_PATH).expect(200)).headers.etag;
    const ids = [newRequestId('cross-a'), newRequestId('cross-b')];
    const results = await Promise.all([
      one.api.put(CALLBACK_PATH).set('X-Request-Id', ids[0]).set('If-Match', tag).send(SEED_BODY),
      two.api
        .put(CALLBACK_PATH)
        .set('X-Request-Id', ids[1])
        .set('If-Match', tag)
        .send({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }] }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const records = await recordsOf(storeOf(two), ...ids);
    expect(records.map((r) => r.outcome).sort()).toEqual(['rejected', 'succeeded']);
  });
});
