import request from 'supertest';
import type { AuditRecord } from '../../src/audit/audit.types';
import { Scope } from '../../src/auth/caller';
import { DEMO_CREDENTIALS } from '../../src/emulator/emulator';
import type { RequestLogEntry } from '../../src/emulator/emulator-state';
import { AUDIENCE, ISSUER, JwksServer, PROJECTS_CLAIM, signToken, testKey, type TestKey } from '../auth/support/jwks-server';
import { CALLBACK_PATH, Harness, PROJECT_ID, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';
import {
  apiKey,
  apiKeysEnv,
  AuditBackend,
  backendKinds,
  createBackend,
  dumpAuditTables,
  intentCount,
  newRequestId,
  recordsOf,
  storeOf,
  waitFor,
} from './support/audit-backend';

const USER_AGENT = 'audit-e2e/1.0 (+outcomes)';
/** Served by nobody: the BFF answers 404 without calling SMN. */
const UNSERVED_PROJECT = '0123456789abcdef0123456789abcdef';

const KEYS = {
  writer: apiKey('ops-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  readOnly: apiKey('read-only', [Scope.SmsCallbackRead], '*'),
  otherProject: apiKey('other-project-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], [UNSERVED_PROJECT]),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
};

const byType = <T extends { event_type: string }>(items: T[]) => [...items].sort((a, b) => a.event_type.localeCompare(b.event_type));

/**
 * Design §6 end to end: every PUT attempt, whatever its fate, leaves exactly one signed record with the
 * right fields (and no intent behind), and no secret ever reaches the audit tables.
 */
describe.each(backendKinds())('audit of every PUT attempt on %s', (kind) => {
  let backend: AuditBackend;
  let jwks: JwksServer;
  let jwtKey: TestKey;
  let h: Harness;

  beforeAll(async () => {
    backend = await createBackend(kind);
    jwtKey = await testKey('ES256', 'audit-e2e-1');
    jwks = new JwksServer();
    jwks.keys = [jwtKey.jwk];
    h = await startHarness(
      backend.harnessEnv({
        AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)),
        AUTH_JWKS_URL: await jwks.start(),
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
        AUTH_JWT_PROJECTS_CLAIM: PROJECTS_CLAIM,
        // One attempt, short: a slow SMN answer becomes a timeout quickly (the `unknown` outcome).
        UPSTREAM_ATTEMPT_TIMEOUT_MS: '800',
        UPSTREAM_DEADLINE_MS: '2000',
        UPSTREAM_MAX_RETRIES: '0',
        UPSTREAM_BREAKER_THRESHOLD: '100',
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    await jwks?.stop();
    await backend?.teardown();
  });
  beforeEach(() => resetEmulator(h.emulator));

  const put = (requestId: string, body: unknown = SEED_BODY, options: { key?: string | null; path?: string } = {}) => {
    const req = request(h.url)
      .put(options.path ?? CALLBACK_PATH)
      .set('X-Request-Id', requestId)
      .set('User-Agent', USER_AGENT);
    const key = options.key === undefined ? KEYS.writer.key : options.key;
    return (key === null ? req : req.set('X-Api-Key', key)).send(body as object);
  };

  /** The one record of a request, also as `GET /audit/events` serves it; no intent may be left. */
  async function theRecord(requestId: string): Promise<AuditRecord> {
    const store = storeOf(h);
    const records = await recordsOf(store, requestId);
    expect(records).toHaveLength(1);
    expect(await intentCount(store, requestId)).toBe(0);
    const [record] = records;
    const page = await request(h.url)
      .get('/audit/events')
      .query({ project_id: record.project_id, outcome: record.outcome, limit: 200 })
      .set('X-Api-Key', KEYS.auditor.key)
      .expect(200);
    expect(page.body.items.filter((item: AuditRecord) => item.request_id === requestId)).toEqual([record]);
    return record;
  }

  /** What every record says about who, from where and when. */
  function expectAttemptFields(
    record: AuditRecord,
    requestId: string,
    actor: Pick<AuditRecord, 'actor_kind' | 'actor_subject' | 'actor_client_id'>,
    projectId = PROJECT_ID,
  ) {
    expect(record).toMatchObject({
      request_id: requestId,
      ...actor,
      source_ip: '127.0.0.1',
      user_agent: USER_AGENT,
      project_id: projectId,
    });
    expect(Date.parse(record.started_at)).toBeLessThanOrEqual(Date.parse(record.recorded_at));
    expect(Date.now() - Date.parse(record.started_at)).toBeLessThan(30_000);
  }

  const writer = { actor_kind: 'api-key', actor_subject: 'ops-writer', actor_client_id: null } as const;
  const anonymous = { actor_kind: 'anonymous', actor_subject: null, actor_client_id: null } as const;

  const smnCalls = async (requestId: string, method?: string): Promise<RequestLogEntry[]> =>
    (await emulatorRequests(h.emulator)).filter((r) => r.caller_request_id === requestId && (!method || r.method === method));

  describe('succeeded', () => {
    it("records the requested state, the state before (read under the lock) and SMN's request id", async () => {
      const first = newRequestId('ok-first');
      const res = await put(first).expect(200);
      expect(res.headers.etag).toEqual(expect.any(String));
      const [upstreamPut] = await smnCalls(first, 'PUT');
      expect(res.body.request_id).toBe(upstreamPut.request_id);

      const record = await theRecord(first);
      expectAttemptFields(record, first, writer);
      expect(record).toMatchObject({
        outcome: 'succeeded',
        http_status: 200,
        error_code: null,
        upstream_status: 200,
        upstream_request_id: upstreamPut.request_id,
        requested: SEED_BODY,
        before: [],
      });
      expect(record.duration_ms).toEqual(expect.any(Number));
      expect(record.duration_ms).toBeGreaterThanOrEqual(0);
      expect(record.duration_ms).toBeLessThanOrEqual(Date.parse(record.recorded_at) - Date.parse(record.started_at) + 1);

      // The next change records the first one's result as its "before".
      const second = newRequestId('ok-second');
      const removal = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] };
      await put(second, removal).expect(200);
      const next = await theRecord(second);
      expect(next).toMatchObject({ outcome: 'succeeded', requested: removal });
      expect(byType(next.before as Array<{ event_type: string }>)).toEqual(byType(SEED_BODY.callback));
    });
  });

  describe('source_ip', () => {
    it('ignores X-Forwarded-For from a peer that is not a configured trusted proxy', async () => {
      const id = newRequestId('spoofed-xff');
      await put(id).set('X-Forwarded-For', '203.0.113.9').expect(200);
      expect((await theRecord(id)).source_ip).toBe('127.0.0.1');
    });
  });

  describe('rejected', () => {
    it('by SMN (4xx, e.g. SMN.0141 for an unknown topic): its status, code and request id', async () => {
      const id = newRequestId('rejected-smn');
      const body = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('no_such_topic') }] };
      const res = await put(id, body).expect(400);
      expect(res.body.code).toBe('SMN.0141');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer);
      expect(record).toMatchObject({
        outcome: 'rejected',
        http_status: 400,
        error_code: 'SMN.0141',
        upstream_status: 400,
        upstream_request_id: res.body.upstream.request_id,
        requested: body,
        before: [],
      });
      expect((await smnCalls(id, 'PUT')).map((r) => r.request_id)).toEqual([res.body.upstream.request_id]);
    });

    it('by If-Match (412): recorded with the state before, and SMN never sees the PUT', async () => {
      const id = newRequestId('rejected-412');
      const res = await put(id).set('If-Match', '"not-the-current-etag"').expect(412);
      expect(res.body.code).toBe('BFF.PRECONDITION_FAILED');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer);
      expect(record).toMatchObject({
        outcome: 'rejected',
        http_status: 412,
        error_code: 'BFF.PRECONDITION_FAILED',
        upstream_status: null,
        upstream_request_id: null,
        before: [],
      });
      expect((await smnCalls(id)).map((r) => r.method)).toEqual(['GET']);
    });
  });

  describe('unknown, after a 5xx', () => {
    it("when SMN answers 500 to the PUT: 502 to the caller, unknown (SMN may have applied it), SMN's status and request id in the record", async () => {
      await injectFault(h.emulator, { kind: 'status', status: 500, method: 'PUT', count: 1 });
      const id = newRequestId('failed-500');
      const res = await put(id).expect(502);
      expect(res.body.code).toBe('BFF.UPSTREAM_UNAVAILABLE');
      const [upstreamPut] = await smnCalls(id, 'PUT');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer);
      expect(record).toMatchObject({
        outcome: 'unknown',
        http_status: 502,
        error_code: 'BFF.UPSTREAM_UNAVAILABLE',
        upstream_status: 500,
        upstream_request_id: upstreamPut.request_id,
        requested: SEED_BODY,
        before: [],
      });
    });
  });

  describe('unknown', () => {
    it('when the PUT times out: SMN may have applied it, and here it did', async () => {
      await injectFault(h.emulator, { kind: 'latency', latency_ms: 1_800, method: 'PUT', count: 1 });
      const id = newRequestId('unknown-timeout');
      const res = await put(id).expect(504);
      expect(res.body.code).toBe('BFF.UPSTREAM_TIMEOUT');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer);
      expect(record).toMatchObject({
        outcome: 'unknown',
        http_status: 504,
        error_code: 'BFF.UPSTREAM_TIMEOUT',
        upstream_status: null,
        upstream_request_id: null,
        requested: SEED_BODY,
        before: [],
      });
      expect(record.duration_ms).toBeGreaterThanOrEqual(800);

      // Why "unknown" and not "failed": SMN goes on after the caller got 504, and applies the change.
      const applied = await waitFor('SMN to apply the slow PUT', async () => {
        const { body } = await request(h.url).get(CALLBACK_PATH).set('X-Api-Key', KEYS.writer.key).expect(200);
        return body.callback.length ? (body.callback as Array<{ event_type: string }>) : undefined;
      });
      expect(byType(applied)).toEqual(byType(SEED_BODY.callback));
    });
  });

  describe('invalid', () => {
    it('400 from body validation: the caller is known, nothing was read or sent upstream', async () => {
      const id = newRequestId('invalid-body');
      const body = { callback: [] };
      expect((await put(id, body).expect(400)).body.code).toBe('BFF.VALIDATION_FAILED');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer);
      expect(record).toMatchObject({
        outcome: 'invalid',
        http_status: 400,
        error_code: 'BFF.VALIDATION_FAILED',
        upstream_status: null,
        upstream_request_id: null,
        requested: body,
        before: null,
      });
      expect(await smnCalls(id)).toEqual([]);
    });

    it("400 with SMN's code for a topic of another region (checked by the service, before the lock)", async () => {
      const id = newRequestId('invalid-region');
      const body = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', PROJECT_ID, 'eu-west-0') }] };
      await put(id, body).expect(400);
      expect(await theRecord(id)).toMatchObject({ outcome: 'invalid', http_status: 400, error_code: 'SMN.0140', requested: body, before: null });
      expect(await smnCalls(id)).toEqual([]);
    });

    it('404 for a project this BFF does not serve', async () => {
      const id = newRequestId('invalid-404');
      const path = `/v2/${UNSERVED_PROJECT}/notifications/sms/callback`;
      expect((await put(id, SEED_BODY, { path }).expect(404)).body.code).toBe('BFF.PROJECT_NOT_FOUND');

      const record = await theRecord(id);
      expectAttemptFields(record, id, writer, UNSERVED_PROJECT);
      expect(record).toMatchObject({ outcome: 'invalid', http_status: 404, error_code: 'BFF.PROJECT_NOT_FOUND', upstream_status: null, before: null });
      expect(await smnCalls(id)).toEqual([]);
    });

    // Refused by Fastify while parsing the body, before the guard ran: the actor is not known yet.
    it('415 for a body that is not JSON', async () => {
      const id = newRequestId('invalid-415');
      const res = await request(h.url)
        .put(CALLBACK_PATH)
        .set('X-Request-Id', id)
        .set('User-Agent', USER_AGENT)
        .set('X-Api-Key', KEYS.writer.key)
        .set('Content-Type', 'text/plain')
        .send('callback=x')
        .expect(415);
      expect(res.body.code).toBe('BFF.UNSUPPORTED_MEDIA_TYPE');

      const record = await theRecord(id);
      expectAttemptFields(record, id, anonymous);
      expect(record).toMatchObject({ outcome: 'invalid', http_status: 415, error_code: 'BFF.UNSUPPORTED_MEDIA_TYPE', requested: null, before: null });
    });

    it('413 for a body over 64 KiB', async () => {
      const id = newRequestId('invalid-413');
      const big = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }], pad: 'x'.repeat(70 * 1024) };
      expect((await put(id, big).expect(413)).body.code).toBe('BFF.PAYLOAD_TOO_LARGE');

      const record = await theRecord(id);
      expectAttemptFields(record, id, anonymous);
      expect(record).toMatchObject({ outcome: 'invalid', http_status: 413, error_code: 'BFF.PAYLOAD_TOO_LARGE', requested: null, before: null });
      // 64 KiB of padding never reaches the table.
      expect(JSON.stringify(record).length).toBeLessThan(4_096);
    });
  });

  describe('denied', () => {
    it.each([
      ['no credentials', null],
      ['an unknown API key', 'not-a-configured-key'],
    ])('401 for %s: recorded as anonymous', async (_label, key) => {
      const id = newRequestId('denied-401');
      const res = await put(id, SEED_BODY, { key }).expect(401);
      expect(res.body.code).toBe('BFF.UNAUTHENTICATED');

      const record = await theRecord(id);
      expectAttemptFields(record, id, anonymous);
      expect(record).toMatchObject({
        outcome: 'denied',
        http_status: 401,
        error_code: 'BFF.UNAUTHENTICATED',
        upstream_status: null,
        upstream_request_id: null,
        requested: SEED_BODY,
        before: null,
      });
      expect(await smnCalls(id)).toEqual([]);
    });

    it.each([
      ['without the write scope', KEYS.readOnly],
      ['for another project only', KEYS.otherProject],
    ])("403 for a key %s: recorded with the key's name", async (_label, key) => {
      const id = newRequestId('denied-403');
      expect((await put(id, SEED_BODY, { key: key.key }).expect(403)).body.code).toBe('BFF.FORBIDDEN');

      const record = await theRecord(id);
      expectAttemptFields(record, id, { actor_kind: 'api-key', actor_subject: key.name, actor_client_id: null });
      expect(record).toMatchObject({ outcome: 'denied', http_status: 403, error_code: 'BFF.FORBIDDEN', requested: SEED_BODY, before: null });
      expect(await smnCalls(id)).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('appear nowhere in the audit tables (records and in-flight intents) nor in the audit log lines', async () => {
      const token = await signToken(jwtKey, { subject: 'alice', claims: { client_id: 'console' } });
      const badToken = await signToken(jwtKey, { subject: 'mallory', audience: 'someone-else' });
      const bearer = (id: string, value: string) =>
        request(h.url).put(CALLBACK_PATH).set('X-Request-Id', id).set('User-Agent', USER_AGENT).set('Authorization', `Bearer ${value}`);

      // A JWT change held in flight, so that its intent is in the table when we look.
      await injectFault(h.emulator, { kind: 'latency', latency_ms: 500, method: 'PUT', count: 1 });
      const inFlight = newRequestId('secret-jwt');
      const slow = bearer(inFlight, token)
        .send(SEED_BODY)
        .then((r) => r);
      const store = storeOf(h);
      await waitFor('the intent of the PUT in flight', async () => (await intentCount(store, inFlight)) === 1);
      const whileInFlight = await dumpAuditTables(store);
      expect((await slow).status).toBe(200);

      const ids = {
        jwtDenied: newRequestId('secret-jwt-denied'),
        key: newRequestId('secret-key'),
        keyDenied: newRequestId('secret-key-403'),
        badKey: newRequestId('secret-bad-key'),
      };
      await bearer(ids.jwtDenied, badToken).send(SEED_BODY).expect(401);
      await put(ids.key).expect(200);
      await put(ids.keyDenied, SEED_BODY, { key: KEYS.readOnly.key }).expect(403);
      await put(ids.badKey, SEED_BODY, { key: `${KEYS.writer.key}x` }).expect(401);

      expect(await theRecord(inFlight)).toMatchObject({ actor_kind: 'jwt', actor_subject: 'alice', actor_client_id: 'console', outcome: 'succeeded' });
      for (const id of Object.values(ids)) await theRecord(id);

      // What SMN received: the BFF's own signature must not be in the audit either.
      const upstreamAuthorizations = (await emulatorRequests(h.emulator)).map((r) => String(r.headers.authorization));
      expect(upstreamAuthorizations.length).toBeGreaterThan(0);
      const secrets = [
        token,
        badToken,
        // The signature part alone is the unforgeable bit of a JWT.
        token.split('.')[2],
        ...Object.values(KEYS).map((k) => k.key),
        `${KEYS.writer.key}x`,
        DEMO_CREDENTIALS.sk,
        ...upstreamAuthorizations.map((a) => /Signature=([0-9a-f]+)/.exec(a)?.[1] ?? a),
      ];

      const afterwards = await dumpAuditTables(store);
      const auditLogLines = h.logs.filter((line) => line.component === 'audit').map((line) => JSON.stringify(line));
      expect(whileInFlight.length).toBeGreaterThan(0);
      expect(auditLogLines.length).toBeGreaterThan(0);
      for (const [where, rows] of [
        ['rows while in flight', whileInFlight],
        ['rows afterwards', afterwards],
        ['audit log lines', auditLogLines],
      ] as const) {
        const text = rows.join('\n');
        for (const secret of secrets) {
          if (text.includes(secret)) throw new Error(`a secret (${secret.slice(0, 6)}…) appears in the ${where}`);
        }
      }
    });
  });
});
