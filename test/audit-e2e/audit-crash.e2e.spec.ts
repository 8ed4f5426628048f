import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { AuditRecord } from '../../src/audit/audit.types';
import { DEMO_CREDENTIALS, RunningEmulator, startEmulator } from '../../src/emulator/emulator';
import { CALLBACK_PATH, DEV_KEY, Harness, PROJECT_ID, REGION, SEED_BODY, startHarness } from '../support/bff-harness';
import { ChildBff, startChildBff } from '../support/child-bff';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';
import {
  assertBuilt,
  AuditBackend,
  storeKinds,
  createBackend,
  intentCount,
  newRequestId,
  recordsOf,
  runVerifyCli,
  storeOf,
  waitFor,
} from '../support/audit-backend';

/** How many stale-intent sweeps an instance has run (the audit store port is metered). */
async function sweepsOf(child: { scrape(): Promise<string> }): Promise<number> {
  const text = await child.scrape();
  return Number(/^audit_write_duration_seconds_count\{operation="finalizeStaleIntents"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Waits until the instance has swept at least `n` more times: time passing is the subject here. */
async function moreSweeps(child: { url: string; scrape(): Promise<string> }, n: number): Promise<void> {
  const start = await sweepsOf(child);
  await waitFor(`${n} more sweeps at ${child.url}`, async () => (await sweepsOf(child)) >= start + n);
}

async function eventsOf(url: string, requestId: string): Promise<AuditRecord[]> {
  const res = await fetch(`${url}/audit/events?project_id=${PROJECT_ID}&limit=200`, { headers: { 'x-api-key': DEV_KEY } });
  if (!res.ok) throw new Error(`GET /audit/events answered ${res.status}`);
  return ((await res.json()) as { items: AuditRecord[] }).items.filter((item) => item.request_id === requestId);
}

const lockOwner = (backend: AuditBackend): number => JSON.parse(readFileSync(join(backend.dataDir, 'audit', 'audit.lock'), 'utf8')).pid;

/**
 * The audit's crash rule (README, Audit): intents left by a crash become `unknown` once older than the longest possible request, checked
 * at start and periodically, and never while they may still be in flight. Real processes, real SIGKILL.
 */
describe.each(storeKinds())('an instance killed between intent and upstream answer, on %s', (kind) => {
  let backend: AuditBackend;
  let emulator: RunningEmulator;
  const children: ChildBff[] = [];

  beforeAll(async () => {
    await assertBuilt();
    backend = await createBackend(kind);
    emulator = await startEmulator({ projects: [{ projectId: PROJECT_ID, region: REGION, topics: ['test_reply', 'test_fail', 'test_success'] }] });
  });
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await emulator?.close();
    await backend?.teardown();
  });

  async function start(env: Record<string, string>): Promise<ChildBff> {
    const child = await startChildBff(
      backend.processEnv({
        SMN_EMULATOR: 'false',
        SMN_PROJECTS: `${PROJECT_ID}=${REGION}`,
        SMN_ENDPOINTS: `${REGION}=${emulator.url}`,
        SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
        SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
        // The PUT may hang as long as the test likes: the crash, not a timeout, must end it.
        UPSTREAM_ATTEMPT_TIMEOUT_MS: '60000',
        UPSTREAM_DEADLINE_MS: '60000',
        UPSTREAM_MAX_RETRIES: '0',
        AUDIT_SWEEP_INTERVAL_MS: '100',
        ...env,
      }),
    );
    children.push(child);
    return child;
  }

  async function stop(child: ChildBff): Promise<void> {
    child.process.kill('SIGTERM');
    const code = await child.exited;
    if (code !== 0) throw new Error(`the BFF exited with ${code} after SIGTERM:\n${child.output()}`);
  }

  /** Puts a PUT in flight at SMN (it hangs there for `latencyMs`) and resolves once SMN has it. */
  async function putInFlight(child: ChildBff, id: string, latencyMs: number): Promise<{ answer: Promise<number | string> }> {
    await injectFault(emulator, { kind: 'latency', latency_ms: latencyMs, method: 'PUT', count: 1 });
    // supertest closes its connection after the answer (see the keep-alive case below for why that matters).
    const answer = request(child.url)
      .put(CALLBACK_PATH)
      .set('X-Api-Key', DEV_KEY)
      .set('X-Request-Id', id)
      .set('User-Agent', 'audit-e2e-crash')
      .send(SEED_BODY)
      .then(
        (res): number | string => res.status,
        () => 'connection lost',
      );
    await waitFor('the PUT to be in flight at SMN', async () =>
      (await emulatorRequests(emulator)).some((r) => r.caller_request_id === id && r.method === 'PUT' && r.status === null),
    );
    // Wrapped: an async function returning the bare promise would wait for it.
    return { answer };
  }

  it("keeps a crashed request's intent while it is younger than the window, then records it once as unknown; a SIGTERM finishes its PUT; the chain verifies", async () => {
    await resetEmulator(emulator);
    // A lease that outlives the process: only the age rule can free its intent.
    const first = await start({ AUDIT_LEASE_TTL_MS: '600000' });
    const crashed = newRequestId('crash');
    const { answer: lost } = await putInFlight(first, crashed, 600_000);
    first.process.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(await lost).toBe('connection lost');
    if (kind === 'pglite') expect(lockOwner(backend)).toBe(first.process.pid); // left behind by the dead process

    // Second life with a long window: the dead instance's lease is unexpired and the intent is young, so for
    // all it knows the request is still in flight somewhere, and it waits.
    const second = await start({ AUDIT_STALE_MARGIN_MS: '600000' });
    if (kind === 'pglite') expect(lockOwner(backend)).toBe(second.process.pid); // the dead process's lock taken over
    await moreSweeps(second, 3);
    expect(await eventsOf(second.url, crashed)).toEqual([]);
    await stop(second);

    // Third life with a short window: a sweep finalises the intent (which therefore survived the second life).
    // Still longer than the PUT below takes: a window shorter than a live request would finalise that one too.
    const third = await start({ CHANGE_DEADLINE_MS: '1000', CHANGE_LOCK_WAIT_MS: '500', AUDIT_STALE_MARGIN_MS: '500' });
    const [record] = await waitFor('the intent to be finalised', async () => {
      const records = await eventsOf(third.url, crashed);
      return records.length ? records : undefined;
    });
    expect(record).toMatchObject({
      request_id: crashed,
      outcome: 'unknown',
      actor_kind: 'development',
      actor_subject: 'development',
      source_ip: '127.0.0.1',
      user_agent: 'audit-e2e-crash',
      project_id: PROJECT_ID,
      requested: SEED_BODY,
      before: [],
      http_status: null,
      error_code: null,
      upstream_status: null,
      upstream_request_id: null,
      duration_ms: null,
    });
    // Later sweeps do not record it again.
    await moreSweeps(third, 3);
    expect(await eventsOf(third.url, crashed)).toHaveLength(1);

    // A graceful stop (README, shutdown) lets the PUT in flight finish and writes its final record itself.
    await resetEmulator(emulator);
    const finished = newRequestId('sigterm');
    const { answer } = await putInFlight(third, finished, 300);
    await stop(third);
    expect(await answer).toBe(200);

    const store = await backend.openStore();
    try {
      expect(await intentCount(store)).toBe(0);
      expect((await recordsOf(store, crashed, finished)).map((r) => [r.request_id, r.outcome])).toEqual([
        [crashed, 'unknown'],
        [finished, 'succeeded'],
      ]);
    } finally {
      await store.close();
    }
    const cli = await runVerifyCli(backend.processEnv());
    expect(cli.stdout.trim()).toMatch(/^audit chain intact: 2 records \(without a saved checkpoint/);
    expect(cli.code).toBe(0);
  }, 120_000); // three lives of the server, each a process start (several seconds for PGlite on a busy machine)
});

describe('SIGTERM with a PUT in flight on a keep-alive connection', () => {
  let backend: AuditBackend;
  let emulator: RunningEmulator;
  let child: ChildBff | undefined;

  beforeAll(async () => {
    await assertBuilt();
    // Not about the store: the faster one will do.
    backend = await createBackend(storeKinds().includes('postgres') ? 'postgres' : 'pglite');
    emulator = await startEmulator({ projects: [{ projectId: PROJECT_ID, region: REGION, topics: ['test_reply', 'test_fail', 'test_success'] }] });
  });
  afterAll(async () => {
    child?.process.kill('SIGKILL');
    await child?.exited;
    await emulator?.close();
    await backend?.teardown();
  });

  // A connection busy when SIGTERM came must not stay open after its answer (keep-alive, as fetch, browsers and
  // load balancers use): answers during shutdown carry `Connection: close`, so the process exits 0 promptly.
  it('exits 0 promptly once the answer is sent', async () => {
    child = await startChildBff(
      backend.processEnv({
        SMN_EMULATOR: 'false',
        SMN_PROJECTS: `${PROJECT_ID}=${REGION}`,
        SMN_ENDPOINTS: `${REGION}=${emulator.url}`,
        SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
        SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
        SHUTDOWN_GRACE_MS: '1500',
      }),
    );
    await injectFault(emulator, { kind: 'latency', latency_ms: 500, method: 'PUT', count: 1 });
    const answer = fetch(`${child.url}${CALLBACK_PATH}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY },
      body: JSON.stringify(SEED_BODY),
    }).then((res) => res.status);
    await waitFor('the PUT to be in flight at SMN', async () => (await emulatorRequests(emulator)).some((r) => r.method === 'PUT' && r.status === null));
    const signalled = Date.now();
    child.process.kill('SIGTERM');
    expect(await answer).toBe(200);
    expect(await child.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2_000);
  });
});

const postgresOnly = process.env.TEST_DATABASE_URL ? describe : describe.skip;

postgresOnly("a live instance's intent on a shared PostgreSQL database", () => {
  let backend: AuditBackend;
  let busy: Harness;
  let sweeper: Harness;

  beforeAll(async () => {
    backend = await createBackend('postgres');
    busy = await startHarness(backend.harnessEnv({ LOG_LEVEL: 'warn' }));
    // Another instance on the same database, sweeping often with a window longer than any request.
    sweeper = await startHarness(
      backend.harnessEnv({
        LOG_LEVEL: 'warn',
        SMN_ENDPOINTS: `${REGION}=${busy.emulator.url}`,
        AUDIT_STALE_MARGIN_MS: '600000',
        AUDIT_SWEEP_INTERVAL_MS: '100',
      }),
    );
  });
  afterAll(async () => {
    await sweeper?.close();
    await busy?.close();
    await backend?.teardown();
  });

  it('is not finalised by another instance while younger than the window; the request completes with one record', async () => {
    await injectFault(busy.emulator, { kind: 'latency', latency_ms: 1_500, method: 'PUT', count: 1 });
    const id = newRequestId('live');
    const answer = busy.api
      .put(CALLBACK_PATH)
      .set('X-Request-Id', id)
      .send(SEED_BODY)
      .then((res) => res.status);
    const store = storeOf(busy);
    await waitFor('the intent of the PUT in flight', async () => (await intentCount(store, id)) === 1);

    await moreSweeps(sweeper, 3);
    expect(await intentCount(store, id)).toBe(1);
    expect(await recordsOf(store, id)).toEqual([]);

    expect(await answer).toBe(200);
    expect((await recordsOf(store, id)).map((r) => r.outcome)).toEqual(['succeeded']);
    expect(await intentCount(store, id)).toBe(0);
  });
});
