import { createBackend, postgresAvailable, waitFor, type AuditBackend } from '../support/audit-backend';
import { CALLBACK_PATH, Harness, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { injectFault } from '../support/emulator-admin';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { sample } from '../support/metrics-scrape';

const BREAKER_THRESHOLD = 3;

/**
 * The metrics move as the README's table says, after a known sequence — an IAM and an SMN retry, a checkpoint,
 * an audit store outage, a 429, an open circuit — every value scraped from the metrics listener (an ephemeral
 * port of its own), never from the public port. Token mode, so that IAM token fetches are part of it; the
 * audit store is PostgreSQL behind a TCP fault proxy, so that its outage is a real one.
 */
(postgresAvailable() ? describe : describe.skip)('metrics, scraped from the metrics port', () => {
  let backend: AuditBackend;
  let proxy: FaultProxy;
  let h: Harness;
  let endpoint: string;

  beforeAll(async () => {
    backend = await createBackend('postgres');
    proxy = await startFaultProxy(backend.databaseUrl!);
    h = await startHarness(
      backend.harnessEnv({
        LOG_LEVEL: 'warn',
        DATABASE_URL: proxy.via(backend.databaseUrl!),
        SMN_AUTH_MODE: 'token',
        UPSTREAM_MAX_RETRIES: '2',
        UPSTREAM_BREAKER_THRESHOLD: String(BREAKER_THRESHOLD),
        // Stays open for the rest of the suite once opened.
        UPSTREAM_BREAKER_HALF_OPEN_MS: '600000',
        RATE_LIMIT_ANONYMOUS_LIMIT: '2',
        // A checkpoint after every record, so that one PUT moves the checkpoint gauges.
        AUDIT_CHECKPOINT_EVERY_RECORDS: '1',
        AUDIT_STATEMENT_TIMEOUT_MS: '500',
      }),
    );
    endpoint = h.emulator.url;
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await backend?.teardown();
  });

  const retries = (text: string, service: string, operation: string, reason = 'SmnUnavailableError') =>
    sample(text, 'upstream_retries_total', { service, operation, reason }) ?? 0;

  it('serves them on their own port only: the public port answers 404 in the envelope', async () => {
    expect(new URL(h.metricsUrl!).port).not.toBe(new URL(h.url).port);
    const res = await h.api.get('/metrics').expect(404);
    expect(res.body).toMatchObject({ code: 'BFF.NOT_FOUND' });
    // The metrics listener serves that one path, to GET (and HEAD) only.
    const other = await fetch(new URL('/other', h.metricsUrl));
    expect(other.status).toBe(404);
    await other.text();
    const post = await fetch(h.metricsUrl!, { method: 'POST' });
    expect({ status: post.status, allow: post.headers.get('allow') }).toEqual({ status: 405, allow: 'GET, HEAD' });
    await post.text();
  });

  it('counts an IAM token fetch retry and an SMN retry, each under its service', async () => {
    const before = await h.scrape();
    await injectFault(h.emulator, { kind: 'status', status: 503, path: '/v3/auth/tokens', count: 1 });
    await injectFault(h.emulator, { kind: 'status', status: 503, path: '/v2/', method: 'GET', count: 1 });
    await h.api.get(CALLBACK_PATH).expect(200);
    const after = await h.scrape();
    expect(retries(after, 'IAM', 'issueToken') - retries(before, 'IAM', 'issueToken')).toBe(1);
    expect(retries(after, 'SMN', 'listSmsCallbacks') - retries(before, 'SMN', 'listSmsCallbacks')).toBe(1);
    expect(sample(after, 'smn_circuit_state', { endpoint })).toBe(0);
  });

  it('shows the age and seq of the last checkpoint: seq 0 before the first, then the age grows, reset by the next', async () => {
    expect(sample(await h.scrape(), 'audit_checkpoint_seq')).toBe(0);
    await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    const first = await h.scrape();
    const seq = sample(first, 'audit_checkpoint_seq')!;
    expect(seq).toBeGreaterThanOrEqual(1);
    const age = sample(first, 'audit_checkpoint_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(0);
    // Time passes, no checkpoint: the age grows (polled, not slept).
    await waitFor('the checkpoint age to grow', async () => sample(await h.scrape(), 'audit_checkpoint_age_seconds')! > age);

    const sentAt = Date.now();
    await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    const next = await h.scrape();
    expect(sample(next, 'audit_checkpoint_seq')).toBe(seq + 1);
    // Published after `sentAt`: younger than the time since.
    expect(sample(next, 'audit_checkpoint_age_seconds')!).toBeLessThanOrEqual((Date.now() - sentAt) / 1000);
  });

  it('counts audit store failures while the store is unreachable: the record of a change refused for it', async () => {
    const failures = (text: string) => sample(text, 'audit_write_failures_total', { operation: 'finalize' }) ?? 0;
    const before = failures(await h.scrape());
    proxy.cut();
    try {
      // Refused before anything is forwarded, and the record of the refusal cannot be stored.
      const res = await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(503);
      expect(res.body.code).toBe('BFF.AUDIT_UNAVAILABLE');
      await waitFor('the failed record write to be counted', async () => failures(await h.scrape()) > before);
    } finally {
      proxy.restore();
    }
    // Back: the next change is recorded again.
    await waitFor('the store to answer again', async () => (await h.api.put(CALLBACK_PATH).send(SEED_BODY)).status === 200, 15_000);
  });

  it('counts a 429 of the source-IP budget', async () => {
    const before = sample(await h.scrape(), 'rate_limit_rejections_total', { kind: 'ip' }) ?? 0;
    await h.api.get(CALLBACK_PATH).set('X-Api-Key', 'wrong-1').expect(401);
    await h.api.get(CALLBACK_PATH).set('X-Api-Key', 'wrong-2').expect(401);
    await h.api.get(CALLBACK_PATH).set('X-Api-Key', 'wrong-3').expect(429);
    const after = await h.scrape();
    expect(sample(after, 'rate_limit_rejections_total', { kind: 'ip' })).toBe(before + 1);
    expect(sample(after, 'auth_failures_total', { reason: 'rate_limited_ip' })).toBeGreaterThanOrEqual(1);
  });

  it('shows an open circuit, with the retries that opened it', async () => {
    const before = await h.scrape();
    await injectFault(h.emulator, { kind: 'status', status: 503, path: '/v2/', count: 10 });
    // One attempt and two retries: three consecutive failures, the threshold; the call answers the last one.
    await h.api.get(CALLBACK_PATH).expect(502);
    const after = await h.scrape();
    expect(sample(after, 'smn_circuit_state', { endpoint })).toBe(2);
    expect(retries(after, 'SMN', 'listSmsCallbacks') - retries(before, 'SMN', 'listSmsCallbacks')).toBe(BREAKER_THRESHOLD - 1);
    // Open: the next call fails fast with 503, SMN is not called, nothing is retried.
    const open = await h.api.get(CALLBACK_PATH).expect(503);
    expect(open.body.code).toBe('BFF.UPSTREAM_UNAVAILABLE');
    const later = await h.scrape();
    expect(retries(later, 'SMN', 'listSmsCallbacks')).toBe(retries(after, 'SMN', 'listSmsCallbacks'));
    expect(sample(later, 'smn_circuit_state', { endpoint })).toBe(2);
  });
});

/** Checkpoint gauges without PostgreSQL too: the embedded store. */
describe('checkpoint gauges on the embedded store', () => {
  it('move with the first checkpoint', async () => {
    const h = await startHarness({ LOG_LEVEL: 'warn', DATABASE_URL: undefined as unknown as string, AUDIT_CHECKPOINT_EVERY_RECORDS: '1' });
    try {
      expect(sample(await h.scrape(), 'audit_checkpoint_seq')).toBe(0);
      await h.api
        .put(CALLBACK_PATH)
        .send({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }] })
        .expect(200);
      expect(sample(await h.scrape(), 'audit_checkpoint_seq')).toBe(1);
    } finally {
      await h.close();
    }
  });
});
