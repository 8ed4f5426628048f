import request from 'supertest';
import { DEMO_CREDENTIALS } from '../../src/emulator/emulator';
import type { RequestLogEntry } from '../../src/emulator/emulator-state';
import { CALLBACK_PATH, DEV_KEY, Harness, PROJECT_ID, REGION, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { fakeDate } from '../support/clock';
import { startChildBff } from '../support/child-bff';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';

const smnCalls = async (h: Harness, method?: string): Promise<RequestLogEntry[]> =>
  (await emulatorRequests(h.emulator)).filter((r) => r.path.startsWith('/v2/') && (!method || r.method === method));

/** Upstream resilience proven through the emulator's fault injection, over real HTTP. */
describe('upstream resilience', () => {
  describe('timeouts and retries', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        LOG_LEVEL: 'warn',
        UPSTREAM_ATTEMPT_TIMEOUT_MS: '200',
        UPSTREAM_DEADLINE_MS: '3000',
        UPSTREAM_MAX_RETRIES: '2',
        UPSTREAM_BREAKER_THRESHOLD: '100',
      });
    });
    afterAll(() => h.close());
    beforeEach(() => resetEmulator(h.emulator));

    it('answers 504 BFF.UPSTREAM_TIMEOUT within the deadline when every attempt is too slow', async () => {
      await injectFault(h.emulator, { kind: 'latency', latency_ms: 1000, count: 10 });
      const started = Date.now();
      const res = await h.api.get(CALLBACK_PATH).expect(504);
      expect(res.body.code).toBe('BFF.UPSTREAM_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3000 + 1000);
      expect(await smnCalls(h)).toHaveLength(3); // one attempt and two retries
    });

    it('gives up at the overall deadline even with retries left', async () => {
      const short = await startHarness({
        LOG_LEVEL: 'warn',
        UPSTREAM_ATTEMPT_TIMEOUT_MS: '400',
        UPSTREAM_DEADLINE_MS: '500',
        UPSTREAM_MAX_RETRIES: '5',
      });
      try {
        await injectFault(short.emulator, { kind: 'hang', count: 10 });
        const started = Date.now();
        const res = await short.api.get(CALLBACK_PATH).expect(504);
        expect(res.body).toMatchObject({ code: 'BFF.UPSTREAM_TIMEOUT', message: expect.stringContaining('deadline') });
        expect(Date.now() - started).toBeLessThan(500 + 1000);
      } finally {
        await short.close();
      }
    });

    it('retries 503, 503, then succeeds: three attempts', async () => {
      await injectFault(h.emulator, { kind: 'status', status: 503, count: 2, method: 'PUT' });
      await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
      const calls = await smnCalls(h, 'PUT');
      expect(calls.map((c) => c.status)).toEqual([503, 503, 200]);
      // Both retries counted, by operation and the failure that caused them.
      const metrics = await h.scrape();
      expect(metrics).toMatch(/^upstream_retries_total\{service="SMN",operation="updateSmsCallbacks",reason="SmnUnavailableError"\} 2$/m);
    });

    it('retries a connection reset', async () => {
      await injectFault(h.emulator, { kind: 'reset', count: 1 });
      await h.api.get(CALLBACK_PATH).expect(200);
      expect((await smnCalls(h)).map((c) => c.fault?.kind ?? c.status)).toEqual(['reset', 200]);
    });

    it('honours Retry-After on 429 before retrying', async () => {
      await injectFault(h.emulator, { kind: 'throttle', retry_after: 1, count: 1 });
      await h.api.get(CALLBACK_PATH).expect(200);
      const [throttled, retried] = await smnCalls(h);
      expect(throttled.fault?.kind).toBe('throttle');
      expect(Date.parse(retried.time) - Date.parse(throttled.time)).toBeGreaterThanOrEqual(1000);
    });

    it('answers 503 BFF.UPSTREAM_THROTTLED with Retry-After when SMN keeps throttling', async () => {
      await injectFault(h.emulator, { kind: 'throttle', retry_after: 0, count: 10 });
      const res = await h.api.get(CALLBACK_PATH).expect(503);
      expect(res.body).toMatchObject({ code: 'BFF.UPSTREAM_THROTTLED', upstream: { status: 429, code: 'APIGW.0308' } });
      expect(res.headers['retry-after']).toBeDefined();
    });

    it('does not retry an SMN 4xx such as SMN.0141', async () => {
      const res = await h.api
        .put(CALLBACK_PATH)
        .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('missing') }] })
        .expect(400);
      expect(res.body.code).toBe('SMN.0141');
      expect(await smnCalls(h, 'PUT')).toHaveLength(1);
    });

    it('does not retry a 500', async () => {
      await injectFault(h.emulator, { kind: 'status', status: 500, count: 5 });
      expect((await h.api.get(CALLBACK_PATH).expect(502)).body.code).toBe('BFF.UPSTREAM_UNAVAILABLE');
      expect(await smnCalls(h)).toHaveLength(1);
    });

    it('answers 502 for a body that is not JSON', async () => {
      await injectFault(h.emulator, { kind: 'malformed', count: 1 });
      const res = await h.api.get(CALLBACK_PATH).expect(502);
      expect(res.body).toMatchObject({ code: 'BFF.UPSTREAM_UNAVAILABLE', upstream: { status: 200 } });
    });
  });

  describe('circuit breaker', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        LOG_LEVEL: 'warn',
        UPSTREAM_MAX_RETRIES: '0',
        UPSTREAM_BREAKER_THRESHOLD: '3',
        UPSTREAM_BREAKER_HALF_OPEN_MS: '300',
      });
    });
    afterAll(() => h.close());

    it('opens after consecutive failures, fails fast while open, and closes after a successful probe', async () => {
      await injectFault(h.emulator, { kind: 'status', status: 503, count: 3 });
      for (let i = 0; i < 3; i++) await h.api.get(CALLBACK_PATH).expect(502);
      expect(await smnCalls(h)).toHaveLength(3);

      const open = await h.api.get(CALLBACK_PATH).expect(503);
      expect(open.body.code).toBe('BFF.UPSTREAM_UNAVAILABLE');
      expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(await smnCalls(h)).toHaveLength(3); // failed fast: SMN saw nothing
      // Reported, but the instance stays ready: every instance shares the outage, and traffic is what probes it.
      expect((await h.api.get('/health/ready').expect(200)).body.details.smn).toEqual({
        status: 'up',
        projects: 1,
        circuits: [{ endpoint: expect.stringContaining(new URL(h.emulator.url).host), state: 'open' }],
      });

      // Half-open after the delay: the next call is let through as a probe, and its success closes the circuit.
      await waitFor(async () => (await h.api.get(CALLBACK_PATH)).status === 200, 3000);
      await h.api.get(CALLBACK_PATH).expect(200);
      expect((await h.api.get('/health/ready').expect(200)).body.details.smn).toEqual({ status: 'up', projects: 1 });
    });
  });

  describe('IAM token mode', () => {
    it('fetches one token for 20 concurrent requests, and replaces a token SMN refuses', async () => {
      const h = await startHarness({ LOG_LEVEL: 'warn', SMN_AUTH_MODE: 'token' });
      try {
        const results = await Promise.all(Array.from({ length: 20 }, () => h.api.get(CALLBACK_PATH)));
        expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
        const log = await emulatorRequests(h.emulator);
        expect(log.filter((r) => r.path === '/v3/auth/tokens')).toHaveLength(1);
        expect(log.filter((r) => r.path.startsWith('/v2/')).every((r) => r.auth?.mode === 'token' && !r.headers.authorization)).toBe(true);

        // The emulator forgets every token: SMN answers 401, the BFF drops its token, fetches one, and succeeds.
        await fetch(`${h.emulator.url}/_emulator/tokens`, { method: 'DELETE' });
        await resetEmulator(h.emulator);
        await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
        const after = await emulatorRequests(h.emulator);
        // The PUT first reads the configuration before (for the audit), which meets the refusal.
        expect(after.map((r) => `${r.method} ${r.path.startsWith('/v2/') ? 'smn' : r.path} ${r.status}`)).toEqual([
          'GET smn 401',
          'POST /v3/auth/tokens 201',
          'GET smn 200',
          'PUT smn 200',
        ]);
      } finally {
        await h.close();
      }
    });

    it('refreshes a token before it expires', async () => {
      // The BFF and the emulator (both in this process) read the moved clock, not the wall clock.
      const clock = fakeDate();
      const h = await startHarness({ LOG_LEVEL: 'warn', SMN_AUTH_MODE: 'token' }, { tokenLifetimeSeconds: 3_600 });
      try {
        await h.api.get(CALLBACK_PATH).expect(200);
        clock.advance(1_799_000);
        await h.api.get(CALLBACK_PATH).expect(200);
        expect((await emulatorRequests(h.emulator)).filter((r) => r.path === '/v3/auth/tokens')).toHaveLength(1);
        // Refresh is due at half the token's lifetime, well before it expires.
        clock.advance(2_000);
        await h.api.get(CALLBACK_PATH).expect(200);
        const log = await emulatorRequests(h.emulator);
        expect(log.filter((r) => r.path === '/v3/auth/tokens')).toHaveLength(2);
        expect(log.filter((r) => r.path.startsWith('/v2/')).map((r) => r.status)).toEqual([200, 200, 200]);
      } finally {
        jest.useRealTimers();
        await h.close();
      }
    });

    it("has a circuit breaker of its own: an IAM outage pauses token fetches and leaves SMN's circuit closed", async () => {
      const h = await startHarness({
        LOG_LEVEL: 'warn',
        SMN_AUTH_MODE: 'token',
        UPSTREAM_MAX_RETRIES: '0',
        UPSTREAM_BREAKER_THRESHOLD: '2',
        UPSTREAM_BREAKER_HALF_OPEN_MS: '300',
      });
      try {
        await injectFault(h.emulator, { kind: 'status', status: 503, path: '/v3/auth/tokens', count: 2 });
        for (let i = 0; i < 2; i++) expect((await h.api.get(CALLBACK_PATH).expect(502)).body.code).toBe('BFF.UPSTREAM_UNAVAILABLE');

        // IAM's circuit is open: neither IAM nor SMN is called.
        const open = await h.api.get(CALLBACK_PATH).expect(503);
        expect(open.body).toMatchObject({ code: 'BFF.UPSTREAM_UNAVAILABLE', message: expect.stringContaining('IAM is failing') });
        expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect((await emulatorRequests(h.emulator)).map((r) => r.path)).toEqual(['/v3/auth/tokens', '/v3/auth/tokens']);
        // SMN's breaker counted none of it.
        await h.api.get('/health/ready').expect(200);

        // Half-open after the delay: a probe fetches a token, and SMN answers.
        await waitFor(async () => (await h.api.get(CALLBACK_PATH)).status === 200, 3000);
      } finally {
        await h.close();
      }
    });

    it("answers 502 BFF.UPSTREAM_AUTH_FAILED when IAM refuses the BFF's password", async () => {
      const h = await startHarness({ LOG_LEVEL: 'warn', SMN_AUTH_MODE: 'token', SMN_IAM_PASSWORD: 'wrong' });
      try {
        expect((await h.api.get(CALLBACK_PATH).expect(502)).body.code).toBe('BFF.UPSTREAM_AUTH_FAILED');
      } finally {
        await h.close();
      }
    });
  });

  describe('graceful shutdown', () => {
    it('on SIGTERM finishes the PUT in flight, refuses new requests and exits 0', async () => {
      const h = await startHarness({ LOG_LEVEL: 'warn' });
      const child = await startChildBff({
        SMN_EMULATOR: 'false',
        SMN_PROJECTS: `${PROJECT_ID}=${REGION}`,
        SMN_ENDPOINTS: `${REGION}=${h.emulator.url}`,
        SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
        SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
        SHUTDOWN_GRACE_MS: '10000',
      });
      try {
        await injectFault(h.emulator, { kind: 'latency', latency_ms: 1500, method: 'PUT', count: 1 });
        const slow = request(child.url)
          .put(CALLBACK_PATH)
          .set('X-Api-Key', DEV_KEY)
          .send(SEED_BODY)
          .then((r) => r);
        // The PUT is in flight once SMN has it (status still unknown).
        await waitFor(async () => (await smnCalls(h)).some((r) => r.method === 'PUT' && r.status === null), 3000);

        child.process.kill('SIGTERM');
        // New requests are refused once the listener closes (shortly after the signal).
        await waitFor(async () => {
          try {
            const res = await fetch(`${child.url}/health/live`, { headers: { connection: 'close' } });
            return res.status === 503;
          } catch {
            return true; // connection refused
          }
        }, 1000);

        const res = await slow;
        expect(res.status).toBe(200);
        expect(await child.exited).toBe(0);
        expect(child.output()).toContain('shut down cleanly');
      } finally {
        child.process.kill('SIGKILL');
        await h.close();
      }
    });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
