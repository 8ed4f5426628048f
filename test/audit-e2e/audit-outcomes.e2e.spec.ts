import request from 'supertest';
import type { AuditRecord } from '../../src/audit/audit.types';
import { Scope } from '../../src/auth/caller';
import { DEMO_CREDENTIALS } from '../../src/emulator/emulator';
import type { RequestLogEntry } from '../../src/emulator/emulator-state';
import type { FaultSpec } from '../../src/emulator/faults';
import { AUDIENCE, ISSUER, JwksServer, PROJECTS_CLAIM, signToken, testKey, type TestKey, type TokenOptions } from '../auth/support/jwks-server';
import { CALLBACK_PATH, Harness, PROJECT_ID, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';
import {
  apiKey,
  apiKeysEnv,
  AuditBackend,
  storeKinds,
  createBackend,
  dumpAuditTables,
  intentCount,
  newRequestId,
  recordsOf,
  storeOf,
  waitFor,
  type TestApiKey,
} from '../support/audit-backend';

const USER_AGENT = 'audit-e2e/1.0 (+outcomes)';
/** Served by nobody: the BFF answers 404 without calling SMN. */
const UNSERVED_PROJECT = '0123456789abcdef0123456789abcdef';

const KEYS = {
  writer: apiKey('ops-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  readOnly: apiKey('read-only', [Scope.SmsCallbackRead], '*'),
  otherProject: apiKey('other-project-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], [UNSERVED_PROJECT]),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
};

type Actor = Pick<AuditRecord, 'actor_kind' | 'actor_subject' | 'actor_client_id'>;
const WRITER: Actor = { actor_kind: 'api-key', actor_subject: 'ops-writer', actor_client_id: null };
const ANONYMOUS: Actor = { actor_kind: 'anonymous', actor_subject: null, actor_client_id: null };
const keyActor = (key: TestApiKey): Actor => ({ actor_kind: 'api-key', actor_subject: key.name, actor_client_id: null });

const byType = <T extends { event_type: string }>(items: T[]) => [...items].sort((a, b) => a.event_type.localeCompare(b.event_type));

/** null: none at all. */
type Credentials = { key: string } | { bearer: string } | null;

/** How one PUT is sent. The writer's key and SEED_BODY unless told otherwise. */
interface Sending {
  body?: unknown;
  /** Sent as it is, with its own content type, instead of a JSON body. */
  raw?: { contentType: string; text: string };
  credentials?: Credentials;
  headers?: Record<string, string>;
  path?: string;
}

/**
 * What SMN saw of the attempt, from the emulator's request log:
 * - `nothing`: refused before the state was read;
 * - `the read`: the state before was read under the lock, and the PUT never sent;
 * - `the PUT`: read, then the PUT, answered; its request id is in the record and in the answer;
 * - `the PUT, unanswered`: read, then the PUT, still unanswered when the caller got its answer, so no SMN
 *   request id can be in the record.
 */
type SmnSaw = 'nothing' | 'the read' | 'the PUT' | 'the PUT, unanswered';

interface CaseContext {
  id: string;
  res: request.Response;
  record: AuditRecord;
}

/** One PUT attempt and everything its record and SMN must show for it. */
interface AttemptCase {
  name: string;
  /** Injected into the emulator before the PUT is sent. */
  fault?: FaultSpec;
  /** `jwt`: a token signed with the suite's JWKS key just before sending (the key exists only then). */
  send?: Omit<Sending, 'credentials'> & { credentials?: Credentials | { jwt: TokenOptions } };
  /** The answer's status and `code` (null for a success, which has an ETag instead); the record says the same. */
  status: number;
  code: string | null;
  actor: Actor;
  projectId?: string;
  record: Pick<AuditRecord, 'outcome' | 'upstream_status' | 'requested' | 'before'>;
  smn: SmnSaw;
  /** Checks that only this case has, after the shared ones. */
  then?: (ctx: CaseContext) => Promise<void>;
}

/**
 * The audit promise (README, Audit) end to end: every PUT attempt, whatever its fate, leaves exactly one signed record with the
 * right fields (and no intent behind), and no secret ever reaches the audit tables.
 */
describe.each(storeKinds())('audit of every PUT attempt on %s', (kind) => {
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

  function put(requestId: string, sending: Sending = {}): request.Test {
    let req = request(h.url)
      .put(sending.path ?? CALLBACK_PATH)
      .set('X-Request-Id', requestId)
      .set('User-Agent', USER_AGENT);
    const credentials = sending.credentials === undefined ? { key: KEYS.writer.key } : sending.credentials;
    if (credentials && 'key' in credentials) req = req.set('X-Api-Key', credentials.key);
    if (credentials && 'bearer' in credentials) req = req.set('Authorization', `Bearer ${credentials.bearer}`);
    for (const [name, value] of Object.entries(sending.headers ?? {})) req = req.set(name, value);
    if (sending.raw) return req.set('Content-Type', sending.raw.contentType).send(sending.raw.text);
    return req.send((sending.body ?? SEED_BODY) as object);
  }

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

  /** What every record says about who, from where and when, and how long the attempt took. */
  function expectAttemptFields(record: AuditRecord, requestId: string, actor: Actor, projectId = PROJECT_ID) {
    expect(record).toMatchObject({
      request_id: requestId,
      ...actor,
      // From the TCP peer, whatever X-Forwarded-For says: no trusted proxy is configured.
      source_ip: '127.0.0.1',
      user_agent: USER_AGENT,
      project_id: projectId,
    });
    expect(Date.parse(record.started_at)).toBeLessThanOrEqual(Date.parse(record.recorded_at));
    expect(Date.now() - Date.parse(record.started_at)).toBeLessThan(30_000);
    expect(record.duration_ms).toEqual(expect.any(Number));
    expect(record.duration_ms).toBeGreaterThanOrEqual(0);
    expect(record.duration_ms).toBeLessThanOrEqual(Date.parse(record.recorded_at) - Date.parse(record.started_at) + 1);
  }

  const smnCalls = async (requestId: string): Promise<RequestLogEntry[]> =>
    (await emulatorRequests(h.emulator)).filter((r) => r.caller_request_id === requestId);

  const removal = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] };
  const otherRegion = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', PROJECT_ID, 'eu-west-0') }] };
  const unknownTopic = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('no_such_topic') }] };
  /** Read under the lock: the seed has no callbacks. */
  const fresh: Pick<AuditRecord, 'before'> = { before: [] };
  /** Refused before the lock: nothing was read, nothing sent. */
  const unread: Pick<AuditRecord, 'upstream_status' | 'before'> = { upstream_status: null, before: null };

  const cases: AttemptCase[] = [
    {
      name: "succeeded: records the requested state, the state before (read under the lock) and SMN's request id",
      status: 200,
      code: null,
      actor: WRITER,
      record: { outcome: 'succeeded', upstream_status: 200, requested: SEED_BODY, ...fresh },
      smn: 'the PUT',
      then: async () => {
        // The next change records the first one's result as its "before".
        const second = newRequestId('ok-second');
        await put(second, { body: removal }).expect(200);
        const next = await theRecord(second);
        expect(next).toMatchObject({ outcome: 'succeeded', requested: removal });
        expect(byType(next.before as Array<{ event_type: string }>)).toEqual(byType(SEED_BODY.callback));
      },
    },
    {
      name: 'succeeded, source_ip: ignores X-Forwarded-For from a peer that is not a configured trusted proxy',
      send: { headers: { 'X-Forwarded-For': '203.0.113.9' } },
      status: 200,
      code: null,
      actor: WRITER,
      record: { outcome: 'succeeded', upstream_status: 200, requested: SEED_BODY, ...fresh },
      smn: 'the PUT',
    },
    {
      name: "succeeded with a JWT: recorded with the token's subject and client id",
      send: { credentials: { jwt: { subject: 'alice', claims: { client_id: 'console' } } } },
      status: 200,
      code: null,
      actor: { actor_kind: 'jwt', actor_subject: 'alice', actor_client_id: 'console' },
      record: { outcome: 'succeeded', upstream_status: 200, requested: SEED_BODY, ...fresh },
      smn: 'the PUT',
    },
    {
      name: 'rejected by SMN (4xx, e.g. SMN.0141 for an unknown topic): its status, code and request id',
      send: { body: unknownTopic },
      status: 400,
      code: 'SMN.0141',
      actor: WRITER,
      record: { outcome: 'rejected', upstream_status: 400, requested: unknownTopic, ...fresh },
      smn: 'the PUT',
    },
    {
      name: 'rejected by If-Match (412): recorded with the state before, and SMN never sees the PUT',
      send: { headers: { 'If-Match': '"not-the-current-etag"' } },
      status: 412,
      code: 'BFF.PRECONDITION_FAILED',
      actor: WRITER,
      record: { outcome: 'rejected', upstream_status: null, requested: SEED_BODY, ...fresh },
      smn: 'the read',
    },
    {
      name: "unknown, when SMN answers 500 to the PUT: 502 to the caller (SMN may have applied it), SMN's status and request id in the record",
      fault: { kind: 'status', status: 500, method: 'PUT', count: 1 },
      status: 502,
      code: 'BFF.UPSTREAM_UNAVAILABLE',
      actor: WRITER,
      record: { outcome: 'unknown', upstream_status: 500, requested: SEED_BODY, ...fresh },
      smn: 'the PUT',
    },
    {
      name: 'unknown, when the PUT times out: SMN may have applied it, and here it did',
      fault: { kind: 'latency', latency_ms: 1_800, method: 'PUT', count: 1 },
      status: 504,
      code: 'BFF.UPSTREAM_TIMEOUT',
      actor: WRITER,
      record: { outcome: 'unknown', upstream_status: null, requested: SEED_BODY, ...fresh },
      smn: 'the PUT, unanswered',
      then: async ({ record }) => {
        expect(record.duration_ms).toBeGreaterThanOrEqual(800);
        // Why "unknown" and not "failed": SMN goes on after the caller got 504, and applies the change.
        const applied = await waitFor('SMN to apply the slow PUT', async () => {
          const { body } = await request(h.url).get(CALLBACK_PATH).set('X-Api-Key', KEYS.writer.key).expect(200);
          return body.callback.length ? (body.callback as Array<{ event_type: string }>) : undefined;
        });
        expect(byType(applied)).toEqual(byType(SEED_BODY.callback));
      },
    },
    {
      name: 'invalid, 400 from body validation: the caller is known, nothing was read or sent upstream',
      send: { body: { callback: [] } },
      status: 400,
      code: 'BFF.VALIDATION_FAILED',
      actor: WRITER,
      record: { outcome: 'invalid', requested: { callback: [] }, ...unread },
      smn: 'nothing',
    },
    {
      name: "invalid, 400 with SMN's code for a topic of another region (checked by the service, before the lock)",
      send: { body: otherRegion },
      status: 400,
      code: 'SMN.0140',
      actor: WRITER,
      record: { outcome: 'invalid', requested: otherRegion, ...unread },
      smn: 'nothing',
    },
    {
      name: 'invalid, 404 for a project this BFF does not serve',
      send: { path: `/v2/${UNSERVED_PROJECT}/notifications/sms/callback` },
      status: 404,
      code: 'BFF.PROJECT_NOT_FOUND',
      actor: WRITER,
      projectId: UNSERVED_PROJECT,
      record: { outcome: 'invalid', requested: SEED_BODY, ...unread },
      smn: 'nothing',
    },
    {
      // Refused by Fastify while parsing the body, before the guard ran: the actor is not known yet.
      name: 'invalid, 415 for a body that is not JSON',
      send: { raw: { contentType: 'text/plain', text: 'callback=x' } },
      status: 415,
      code: 'BFF.UNSUPPORTED_MEDIA_TYPE',
      actor: ANONYMOUS,
      record: { outcome: 'invalid', requested: null, ...unread },
      smn: 'nothing',
    },
    {
      name: 'invalid, 413 for a body over 64 KiB',
      send: { body: { ...removal, pad: 'x'.repeat(70 * 1024) } },
      status: 413,
      code: 'BFF.PAYLOAD_TOO_LARGE',
      actor: ANONYMOUS,
      record: { outcome: 'invalid', requested: null, ...unread },
      smn: 'nothing',
      then: async ({ record }) => {
        // 64 KiB of padding never reaches the table.
        expect(JSON.stringify(record).length).toBeLessThan(4_096);
      },
    },
    ...(
      [
        ['no credentials', null],
        ['an unknown API key', { key: 'not-a-configured-key' }],
        ['a JWT for another audience', { jwt: { subject: 'mallory', audience: 'someone-else' } }],
      ] as const
    ).map(([label, credentials]): AttemptCase => ({
      name: `denied, 401 for ${label}: recorded as anonymous`,
      send: { credentials },
      status: 401,
      code: 'BFF.UNAUTHENTICATED',
      actor: ANONYMOUS,
      record: { outcome: 'denied', requested: SEED_BODY, ...unread },
      smn: 'nothing',
    })),
    ...(
      [
        ['without the write scope', KEYS.readOnly],
        ['for another project only', KEYS.otherProject],
      ] as const
    ).map(([label, key]): AttemptCase => ({
      name: `denied, 403 for a key ${label}: recorded with the key's name`,
      send: { credentials: { key: key.key } },
      status: 403,
      code: 'BFF.FORBIDDEN',
      actor: keyActor(key),
      record: { outcome: 'denied', requested: SEED_BODY, ...unread },
      smn: 'nothing',
    })),
    {
      name: "denied, 403 for a JWT without the write scope: recorded with the token's subject",
      send: { credentials: { jwt: { subject: 'bob', claims: { scope: 'sms-callback:read', client_id: 'viewer' } } } },
      status: 403,
      code: 'BFF.FORBIDDEN',
      actor: { actor_kind: 'jwt', actor_subject: 'bob', actor_client_id: 'viewer' },
      record: { outcome: 'denied', requested: SEED_BODY, ...unread },
      smn: 'nothing',
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.fault) await injectFault(h.emulator, c.fault);
    const id = newRequestId(`${c.record.outcome}-${c.status}`);
    const credentials = c.send?.credentials;
    const res = await put(id, {
      ...c.send,
      credentials: credentials && 'jwt' in credentials ? { bearer: await signToken(jwtKey, credentials.jwt) } : credentials,
    });

    expect(res.status).toBe(c.status);
    if (c.code === null) {
      expect(res.body.code).toBeUndefined();
      expect(res.headers.etag).toEqual(expect.any(String));
    } else {
      expect(res.body.code).toBe(c.code);
    }

    const calls = await smnCalls(id);
    const puts = calls.filter((r) => r.method === 'PUT');
    const record = await theRecord(id);
    expectAttemptFields(record, id, c.actor, c.projectId);
    expect(record).toMatchObject({
      ...c.record,
      // The record says what the caller was answered.
      http_status: c.status,
      error_code: c.code,
      upstream_request_id: c.smn === 'the PUT' ? puts[0]?.request_id : null,
    });

    switch (c.smn) {
      case 'nothing':
        expect(calls).toEqual([]);
        break;
      case 'the read':
        expect(calls.map((r) => r.method)).toEqual(['GET']);
        break;
      case 'the PUT':
        expect(calls.map((r) => r.method)).toEqual(['GET', 'PUT']);
        expect(puts[0].status).toBe(record.upstream_status);
        if (c.code !== null) expect(res.body.upstream?.request_id).toBe(puts[0].request_id);
        break;
      case 'the PUT, unanswered':
        expect(calls.map((r) => r.method)).toEqual(['GET', 'PUT']);
        expect(puts[0].status).toBeNull();
        break;
    }
    // The answer carries SMN's request id when SMN answered the PUT (for support cases), else ours.
    expect(res.body.request_id).toBe(c.smn === 'the PUT' ? puts[0].request_id : id);

    await c.then?.({ id, res, record });
  });

  describe('secrets', () => {
    it('appear nowhere in the audit tables (records and in-flight intents) nor in the audit log lines', async () => {
      const token = await signToken(jwtKey, { subject: 'alice', claims: { client_id: 'console' } });
      const badToken = await signToken(jwtKey, { subject: 'mallory', audience: 'someone-else' });

      // A JWT change held in flight, so that its intent is in the table when we look.
      await injectFault(h.emulator, { kind: 'latency', latency_ms: 500, method: 'PUT', count: 1 });
      const inFlight = newRequestId('secret-jwt');
      // then() sends it now: supertest sends nothing until the request is awaited.
      const slow = put(inFlight, { credentials: { bearer: token } }).then((r) => r);
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
      await put(ids.jwtDenied, { credentials: { bearer: badToken } }).expect(401);
      await put(ids.key).expect(200);
      await put(ids.keyDenied, { credentials: { key: KEYS.readOnly.key } }).expect(403);
      await put(ids.badKey, { credentials: { key: `${KEYS.writer.key}x` } }).expect(401);

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
