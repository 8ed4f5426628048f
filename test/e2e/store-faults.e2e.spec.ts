import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import type { AuditRecord } from '../../src/audit/audit.types';
import { projectLockKey } from '../../src/audit/postgres-audit.store';
import { DEMO_CREDENTIALS, RunningEmulator, startEmulator } from '../../src/emulator/emulator';
import { postgresAvailable, testDatabaseUrl } from '../support/audit-backend';
import { assertBuilt, AuditBackend, createBackend, intentCount, newRequestId, recordsOf, waitFor } from '../support/audit-backend';
import { DEV_KEY, Harness, REGION, startHarness, urn } from '../support/bff-harness';
import { ChildBff, startChildBff } from '../support/child-bff';
import { emulatorRequests, injectFault } from '../support/emulator-admin';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';

/**
 * Store faults on real PostgreSQL, injected by a TCP proxy between the BFF and the database (or by the server
 * itself, pg_terminate_backend): one request fails, never the process; every step is bounded in time; readiness
 * follows the store; every answered attempt keeps exactly one record and the chain verifies.
 */

const TOPICS = ['test_reply', 'test_fail', 'test_success'];

interface Project {
  projectId: string;
  region: string;
  topics: string[];
}

/**
 * A random project per case: advisory locks are database-wide, not per schema, so a shared project id would
 * contend with any other suite running on the same database (and case 2 finds its lock by the project's key).
 */
const newProject = (): Project => ({ projectId: randomBytes(16).toString('hex'), region: REGION, topics: TOPICS });
const projectsEnv = (projects: Project[]) => projects.map((p) => `${p.projectId}=${p.region}`).join(',');
const pathOf = (project: Project) => `/v2/${project.projectId}/notifications/sms/callback`;
const bodyOf = (project: Project) => ({
  callback: [
    { event_type: 'sms_reply_event', topic_urn: urn('test_reply', project.projectId, project.region) },
    { event_type: 'sms_fail_event', topic_urn: urn('test_fail', project.projectId, project.region) },
  ],
});

interface Answer {
  id: string;
  status: number;
  code?: string;
  retryAfter?: string;
  ms: number;
}

/** One PUT with our own request id (its records are found by it); supertest closes the connection after. */
async function put(baseUrl: string, project: Project, id: string): Promise<Answer> {
  const started = Date.now();
  const res = await request(baseUrl).put(pathOf(project)).set('X-Api-Key', DEV_KEY).set('X-Request-Id', id).send(bodyOf(project));
  return { id, status: res.status, code: res.body?.code, retryAfter: res.headers['retry-after'], ms: Date.now() - started };
}

const readiness = async (baseUrl: string): Promise<number> => (await request(baseUrl).get('/health/ready')).status;

async function verification(baseUrl: string): Promise<unknown> {
  return (await request(baseUrl).get('/audit/verification').set('X-Api-Key', DEV_KEY).expect(200)).body;
}

/** Resolves once SMN has received the PUT of request `id` and not answered it yet. */
async function inFlightAtSmn(emulator: RunningEmulator, id: string): Promise<void> {
  await waitFor(`PUT ${id} to be in flight at SMN`, async () =>
    (await emulatorRequests(emulator)).some((r) => r.caller_request_id === id && r.method === 'PUT' && r.status === null),
  );
}

const smnPuts = async (emulator: RunningEmulator) => (await emulatorRequests(emulator)).filter((r) => r.method === 'PUT');

/** The records of `ids` once each has at least one (deferred ones arrive with a sweep), read directly, not via the proxy. */
async function eventualRecords(backend: AuditBackend, ids: string[], timeoutMs = 10_000): Promise<AuditRecord[]> {
  const store = await backend.openStore();
  try {
    return await waitFor(
      `records of ${ids.join(', ')}`,
      async () => {
        const records = await recordsOf(store, ...ids);
        return ids.every((id) => records.some((r) => r.request_id === id)) && records;
      },
      timeoutMs,
    );
  } finally {
    await store.close();
  }
}

async function pendingIntents(backend: AuditBackend): Promise<number> {
  const store = await backend.openStore();
  try {
    return await intentCount(store);
  } finally {
    await store.close();
  }
}

(postgresAvailable() ? describe : describe.skip)('audit store faults on PostgreSQL (through a TCP fault proxy)', () => {
  /** Everything a case started, stopped in reverse order after it, whatever its result. */
  const cleanups: Array<() => Promise<unknown>> = [];
  const onCleanup = (step: () => Promise<unknown>) => cleanups.push(step);
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  });

  beforeAll(() => assertBuilt());

  /** A fresh schema and signing key, and a proxy in front of the database. */
  async function storeBehindProxy(): Promise<{ backend: AuditBackend; proxy: FaultProxy; databaseUrl: string }> {
    const backend = await createBackend('postgres');
    onCleanup(() => backend.teardown());
    const proxy = await startFaultProxy(backend.databaseUrl!);
    onCleanup(() => proxy.close());
    return { backend, proxy, databaseUrl: proxy.via(backend.databaseUrl!) };
  }

  async function emulatorWith(projects: Project[]): Promise<RunningEmulator> {
    const emulator = await startEmulator({ projects });
    onCleanup(() => emulator.close());
    return emulator;
  }

  /** The built server as a child process, so a crash shows as an exit; killed and awaited after the case. */
  async function child(
    backend: AuditBackend,
    databaseUrl: string,
    emulator: RunningEmulator,
    projects: Project[],
    env: Record<string, string> = {},
  ): Promise<ChildBff> {
    const bff = await startChildBff(
      backend.processEnv({
        SMN_EMULATOR: 'false',
        SMN_PROJECTS: projectsEnv(projects),
        SMN_ENDPOINTS: `${REGION}=${emulator.url}`,
        SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
        SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
        DATABASE_URL: databaseUrl,
        ...env,
      }),
    );
    onCleanup(async () => {
      bff.process.kill('SIGKILL');
      await bff.exited;
    });
    return bff;
  }

  async function harness(backend: AuditBackend, databaseUrl: string, projects: Project[], env: Record<string, string> = {}): Promise<Harness> {
    const h = await startHarness(backend.harnessEnv({ SMN_PROJECTS: projectsEnv(projects), DATABASE_URL: databaseUrl, ...env }), { projects });
    onCleanup(() => h.close());
    return h;
  }

  /** The process lives: it has not exited and still answers liveness. */
  async function expectAlive(bff: ChildBff): Promise<void> {
    expect({ exitCode: bff.process.exitCode, signal: bff.process.signalCode }).toEqual({ exitCode: null, signal: null });
    expect((await request(bff.url).get('/health/live')).status).toBe(200);
  }

  /**
   * Cases 1 and 2 share their shape: a PUT holds its project's lock while SMN is slow to answer, the lock's
   * connection dies (`loseLock`), and the change has already been forwarded, so its outcome is unknown.
   */
  async function lockLostDuringForwarding(fault: {
    loseLock(ctx: { proxy: FaultProxy; project: Project; backend: AuditBackend }): Promise<void>;
    /** Called once the PUT has answered. */
    afterAnswer?(proxy: FaultProxy): void;
    /** The store is unreachable when the final record is due: it must be kept and stored by a sweep. */
    recordDeferred: boolean;
  }) {
    const project = newProject();
    const { backend, proxy, databaseUrl } = await storeBehindProxy();
    const emulator = await emulatorWith([project]);
    // Frequent sweeps: a record that could not be stored while the store was away is stored by the next one.
    const bff = await child(backend, databaseUrl, emulator, [project], { AUDIT_SWEEP_INTERVAL_MS: '200' });

    await injectFault(emulator, { kind: 'latency', latency_ms: 1_500, method: 'PUT', count: 1 });
    const id = newRequestId('lock-lost');
    const lost = put(bff.url, project, id);
    await inFlightAtSmn(emulator, id);
    await fault.loseLock({ proxy, project, backend });

    const answer = await lost;
    fault.afterAnswer?.(proxy);
    // Forwarded, then the lock was lost: whether the change applied alone is not known.
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE' });

    const next = await put(bff.url, project, newRequestId('after'));
    expect(next.status).toBe(200);

    // By request id, not chain order: a deferred record is appended when a sweep stores it, maybe after `next`'s.
    const records = await eventualRecords(backend, [id, next.id]);
    const endings = (requestId: string) => records.filter((r) => r.request_id === requestId).map((r) => [r.outcome, r.http_status, r.error_code]);
    expect(endings(id)).toEqual([['unknown', 503, 'BFF.AUDIT_UNAVAILABLE']]);
    expect(endings(next.id)).toEqual([['succeeded', 200, null]]);
    // No intent left behind that a later sweep would turn into a second record.
    expect(await pendingIntents(backend)).toBe(0);
    expect(await verification(bff.url)).toMatchObject({ intact: true });
    await expectAlive(bff);
    const lines = bff.output().split('\n');
    if (fault.recordDeferred) {
      expect(lines.some((line) => line.includes(`"reqId":"${id}"`) && line.includes('audit record not stored yet'))).toBe(true);
    }
    // A retried record must be stored once (idempotent by id), not collide with itself.
    expect(lines.filter((line) => line.includes('duplicate key'))).toEqual([]);
  }

  it('1. database cut while a PUT holds the project lock during a slow upstream call: 503 and an unknown record; the process lives', async () => {
    await lockLostDuringForwarding({
      loseLock: async ({ proxy }) => proxy.cut(),
      afterAnswer: (proxy) => proxy.restore(),
      recordDeferred: true,
    });
  }, 60_000);

  it("2. pg_terminate_backend on the lock's backend while a PUT holds it during a slow upstream call: same", async () => {
    await lockLostDuringForwarding({
      recordDeferred: false,
      loseLock: async ({ project, backend }) => {
        // Straight to the server, not via the proxy. The lock is found by its key: pg_advisory_lock(bigint) shows
        // the key's high and low 32 bits as classid and objid.
        const key = BigInt.asUintN(64, BigInt(projectLockKey(project.projectId, backend.schema!)));
        const admin = new Client({ connectionString: testDatabaseUrl() });
        await admin.connect();
        try {
          const { rows } = await admin.query<{ pid: number }>(
            `select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1
               and database = (select oid from pg_database where datname = current_database()) and classid = $1::oid and objid = $2::oid`,
            [String(key >> 32n), String(key & 0xffffffffn)],
          );
          expect(rows).toHaveLength(1);
          const { rows: terminated } = await admin.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [rows[0].pid]);
          expect(terminated[0].ok).toBe(true);
        } finally {
          await admin.end();
        }
      },
    });
  }, 60_000);

  it('3. store blackhole of 20 s: every PUT answers 503 within the deadline + 1.5 s, readiness turns 503 and back to 200 by itself', async () => {
    const DEADLINE_MS = 5_000;
    const MARGIN_MS = 1_500;
    const BLACKHOLE_MS = 20_000;
    const project = newProject();
    const { backend, proxy, databaseUrl } = await storeBehindProxy();
    const h = await harness(backend, databaseUrl, [project], {
      LOG_LEVEL: 'warn',
      CHANGE_DEADLINE_MS: String(DEADLINE_MS),
      CHANGE_LOCK_WAIT_MS: '2000',
      AUDIT_SWEEP_INTERVAL_MS: '200',
    });
    // Runs before the harness closes: a failed case must not leave it shutting down against a silent store.
    onCleanup(async () => proxy.restore());
    // Warm: both pools hold live connections when the blackhole starts, the hardest case (nothing fails fast).
    expect((await put(h.url, project, newRequestId('warm'))).status).toBe(200);
    expect(await readiness(h.url)).toBe(200);

    const start = Date.now();
    const elapsed = () => Date.now() - start;
    proxy.blackhole();

    // Readiness polled all along (each probe takes up to its 1 s ping timeout while the store is silent).
    const probes: Array<{ at: number; status: number }> = [];
    const probing = (async () => {
      while (elapsed() < BLACKHOLE_MS) {
        const status = await readiness(h.url);
        probes.push({ at: elapsed(), status });
        await new Promise((resolve) => setTimeout(resolve, 100)); // polling cadence
      }
    })();
    // Waves of three PUTs to the one project (one takes the queue, two wait in it), as long as an answer
    // due within the deadline still comes before the restore.
    const answers: Answer[] = [];
    const sending = (async () => {
      while (elapsed() < BLACKHOLE_MS - DEADLINE_MS - MARGIN_MS) {
        answers.push(...(await Promise.all([1, 2, 3].map((i) => put(h.url, project, newRequestId(`blackhole-${i}`))))));
      }
    })();
    await Promise.all([probing, sending]);
    // Time passing is this case's subject: the store stays silent for 20 s in all.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, BLACKHOLE_MS - elapsed())));
    proxy.restore();

    expect(answers.length).toBeGreaterThanOrEqual(6);
    expect(answers.filter((a) => a.status !== 503 || a.ms > DEADLINE_MS + MARGIN_MS)).toEqual([]);
    expect(answers.filter((a) => a.code !== 'BFF.AUDIT_UNAVAILABLE' && a.code !== 'BFF.PROJECT_BUSY')).toEqual([]);
    const firstDown = probes.find((p) => p.status === 503);
    expect(firstDown?.at).toBeLessThanOrEqual(2_500);
    expect(probes.filter((p) => p.at >= firstDown!.at && p.status !== 503)).toEqual([]);

    // Back by itself, without a restart.
    await waitFor('readiness to be 200 again', async () => (await readiness(h.url)) === 200, 10_000);
    const after = await put(h.url, project, newRequestId('after-blackhole'));
    expect(after.status).toBe(200);

    // Every answered attempt has exactly one record (those refused meanwhile arrive with a sweep).
    const ids = [...answers.map((a) => a.id), after.id];
    const records = await eventualRecords(backend, ids);
    expect(ids.filter((id) => records.filter((r) => r.request_id === id).length !== 1)).toEqual([]);
    expect(await pendingIntents(backend)).toBe(0);
    expect(await verification(h.url)).toMatchObject({ intact: true });
  }, 90_000);

  it('4. lock contention beyond the lock wait: one 200, one 503 BFF.PROJECT_BUSY with Retry-After, recorded, not forwarded', async () => {
    const project = newProject();
    const { backend, databaseUrl } = await storeBehindProxy();
    const h = await harness(backend, databaseUrl, [project], { LOG_LEVEL: 'warn', CHANGE_LOCK_WAIT_MS: '300' });
    await injectFault(h.emulator, { kind: 'latency', latency_ms: 1_500, method: 'PUT', count: 1 });

    const answers = await Promise.all([put(h.url, project, newRequestId('contender-a')), put(h.url, project, newRequestId('contender-b'))]);
    const ok = answers.find((a) => a.status === 200);
    const busy = answers.find((a) => a.status === 503);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 503]);
    expect(busy!.code).toBe('BFF.PROJECT_BUSY');
    expect(Number(busy!.retryAfter)).toBeGreaterThanOrEqual(1);

    const records = await eventualRecords(backend, [ok!.id, busy!.id]);
    expect(records.filter((r) => r.request_id === busy!.id)).toEqual([
      expect.objectContaining({ outcome: 'failed', http_status: 503, error_code: 'BFF.PROJECT_BUSY' }),
    ]);
    expect(records.filter((r) => r.request_id === ok!.id).map((r) => r.outcome)).toEqual(['succeeded']);
    // The busy one forwarded nothing (nor read anything) upstream.
    expect((await smnPuts(h.emulator)).map((r) => r.caller_request_id)).toEqual([ok!.id]);
    expect((await emulatorRequests(h.emulator)).filter((r) => r.caller_request_id === busy!.id)).toEqual([]);
  }, 30_000);

  it('5. 60 concurrent PUTs over 60 projects with a 1 s upstream latency: all 200, each with a succeeded record', async () => {
    const projects = Array.from({ length: 60 }, newProject);
    const { backend, databaseUrl } = await storeBehindProxy();
    const h = await harness(backend, databaseUrl, projects, { LOG_LEVEL: 'warn' });
    // No method filter: the read-before (GET) and the PUT both wait, so each change holds its lock about 2 s.
    await injectFault(h.emulator, { kind: 'latency', latency_ms: 1_000, count: 200 });

    const answers = await Promise.all(projects.map((project, i) => put(h.url, project, newRequestId(`fan-${i}`))));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);

    const records = await eventualRecords(
      backend,
      answers.map((a) => a.id),
    );
    expect(records).toHaveLength(60);
    expect(new Set(records.map((r) => r.request_id)).size).toBe(60);
    expect(records.filter((r) => r.outcome !== 'succeeded')).toEqual([]);
    expect(await verification(h.url)).toMatchObject({ intact: true });
  }, 60_000);
});
