import type { LightMyRequestResponse } from 'fastify';
import { AuditService } from '../../src/audit/audit.service';
import type { AuditOutcome, AuditRecord } from '../../src/audit/audit.types';
import { Scope } from '../../src/auth/caller';
import { smnFailures, smnRequestId } from './support/fake-smn.port';
import {
  apiKey,
  apiKeysEnv,
  callbackPath,
  ContractApp,
  expectEnvelope,
  newRequestId,
  OTHER_PROJECT_ID,
  PROJECT_ID,
  SEED_BODY,
  startContractApp,
  UNSERVED_PROJECT_ID,
  urn,
} from './support/contract-app';

const KEYS = {
  writer: apiKey('ops-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  reader: apiKey('read-only', [Scope.SmsCallbackRead], '*'),
  otherWriter: apiKey('other-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], [OTHER_PROJECT_ID]),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
};

type Actor = Pick<AuditRecord, 'actor_kind' | 'actor_subject'>;
const writer: Actor = { actor_kind: 'api-key', actor_subject: 'ops-writer' };
const anonymous: Actor = { actor_kind: 'anonymous', actor_subject: null };

const UNKNOWN_TOPIC = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('no_such_topic') }] };
const FIXED_SMN_ID = smnRequestId();

interface Row {
  name: string;
  outcome: AuditOutcome;
  status: number;
  code: string;
  /** Arranges faults before the request; may return what undoes them once the answer is in. */
  arrange?: (c: ContractApp) => void | Promise<void | (() => Promise<void>)>;
  /** Sends the PUT (default: the seed body as the writer). */
  send?: (c: ContractApp, requestId: string) => Promise<LightMyRequestResponse>;
  actor?: Actor;
  projectId?: string;
  /** Whether the PUT reached SMN's UpdateSmsEvent. */
  forwarded: boolean;
  /** `update`: the id SMN gave the update call; else a literal (null: none). */
  upstream: { status: number | null; requestId: 'update' | string | null };
  /** What the record keeps as the state before: read under the lock, or null when it never was. */
  before: unknown;
  /** The body as recorded: the parsed body, or null when it was never parsed. */
  requested?: unknown;
  /** Whether SMN's configuration changed. */
  applied?: boolean;
  headers?: Record<string, string | RegExp>;
}

const put =
  (body: unknown, options: Parameters<ContractApp['put']>[2] = {}) =>
  (c: ContractApp, requestId: string) =>
    c.put(callbackPath(), body, { requestId, ...options });

/**
 * Every way a PUT can end, and the one record it leaves: outcome, the status the caller received, the code,
 * SMN's status and request id, the actor, the state before and the body as requested.
 */
const ROWS: Row[] = [
  {
    name: 'SMN applied the change',
    outcome: 'succeeded',
    status: 200,
    code: '',
    forwarded: true,
    upstream: { status: 200, requestId: 'update' },
    before: [],
    applied: true,
  },
  {
    name: 'SMN refused it (unknown topic, 400 SMN.0141)',
    outcome: 'rejected',
    status: 400,
    code: 'SMN.0141',
    send: put(UNKNOWN_TOPIC),
    requested: UNKNOWN_TOPIC,
    forwarded: true,
    upstream: { status: 400, requestId: 'update' },
    before: [],
  },
  {
    name: 'If-Match did not match (412)',
    outcome: 'rejected',
    status: 412,
    code: 'BFF.PRECONDITION_FAILED',
    send: put(SEED_BODY, { headers: { 'if-match': '"stale"' } }),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: [],
  },
  {
    name: 'the body failed validation (400)',
    outcome: 'invalid',
    status: 400,
    code: 'BFF.VALIDATION_FAILED',
    send: put({ callback: [{ event_type: 'sms_fail_event', topic_urn: '' }], priority: 1 }),
    requested: { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }], priority: 1 },
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: "the body broke SMN's own rule (400 with SMN's code)",
    outcome: 'invalid',
    status: 400,
    code: 'SMN.0100',
    send: put({ callback: [{ event_type: 'sms_other_event', topic_urn: '' }] }),
    requested: { callback: [{ event_type: 'sms_other_event', topic_urn: '' }] },
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the body was not JSON (400, refused while parsing)',
    outcome: 'invalid',
    status: 400,
    code: 'BFF.VALIDATION_FAILED',
    send: put('{"callback": ['),
    actor: anonymous,
    requested: null,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the body nested too deep (400, refused while parsing)',
    outcome: 'invalid',
    status: 400,
    code: 'BFF.VALIDATION_FAILED',
    send: put(`{"callback":${'['.repeat(40)}${']'.repeat(40)}}`),
    actor: anonymous,
    requested: null,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the project is not served (404)',
    outcome: 'invalid',
    status: 404,
    code: 'BFF.PROJECT_NOT_FOUND',
    send: (c, requestId) => c.put(callbackPath(UNSERVED_PROJECT_ID), { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] }, { requestId }),
    requested: { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] },
    projectId: UNSERVED_PROJECT_ID,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the body was over 64 KiB (413)',
    outcome: 'invalid',
    status: 413,
    code: 'BFF.PAYLOAD_TOO_LARGE',
    send: put({ ...SEED_BODY, pad: 'x'.repeat(70 * 1024) }),
    actor: anonymous,
    requested: null,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the body was not JSON by its media type (415)',
    outcome: 'invalid',
    status: 415,
    code: 'BFF.UNSUPPORTED_MEDIA_TYPE',
    send: put('callback=x', { headers: { 'content-type': 'text/plain' } }),
    actor: anonymous,
    requested: null,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'no credentials (401)',
    outcome: 'denied',
    status: 401,
    code: 'BFF.UNAUTHENTICATED',
    send: put(SEED_BODY, { key: null }),
    actor: anonymous,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
    headers: { 'www-authenticate': 'Bearer realm="sms-callback-bff"' },
  },
  {
    name: 'an unknown API key (401)',
    outcome: 'denied',
    status: 401,
    code: 'BFF.UNAUTHENTICATED',
    send: put(SEED_BODY, { key: 'not-a-key' }),
    actor: anonymous,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
    headers: { 'www-authenticate': /error="invalid_token"/ },
  },
  {
    name: 'a key without the write scope (403)',
    outcome: 'denied',
    status: 403,
    code: 'BFF.FORBIDDEN',
    send: put(SEED_BODY, { key: KEYS.reader.key }),
    actor: { actor_kind: 'api-key', actor_subject: 'read-only' },
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'a key without the project (403)',
    outcome: 'denied',
    status: 403,
    code: 'BFF.FORBIDDEN',
    send: put(SEED_BODY, { key: KEYS.otherWriter.key }),
    actor: { actor_kind: 'api-key', actor_subject: 'other-writer' },
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'SMN unreachable before forwarding (the read before fails, 502)',
    outcome: 'failed',
    status: 502,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    arrange: (c) => void c.smn.failNext('listSmsCallbacks', smnFailures.unreachable()),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'an unexpected error before forwarding (500, no internals)',
    outcome: 'failed',
    status: 500,
    code: 'BFF.INTERNAL',
    arrange: (c) => void c.smn.failNext('listSmsCallbacks', new TypeError('internal detail')),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the circuit is open (503)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    arrange: (c) => void c.smn.failNext('listSmsCallbacks', smnFailures.circuitOpen()),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
    headers: { 'retry-after': '10' },
  },
  {
    name: "the PUT's connection was never made (ECONNREFUSED: provably not applied, 502)",
    outcome: 'failed',
    status: 502,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    arrange: (c) => void c.smn.failNext('updateSmsCallbacks', smnFailures.unreachable()),
    forwarded: true,
    upstream: { status: null, requestId: null },
    before: [],
  },
  {
    name: "SMN refused this service's credentials (502)",
    outcome: 'failed',
    status: 502,
    code: 'BFF.UPSTREAM_AUTH_FAILED',
    arrange: (c) => void c.smn.failNext('updateSmsCallbacks', smnFailures.authFailed(FIXED_SMN_ID)),
    forwarded: true,
    upstream: { status: 403, requestId: FIXED_SMN_ID },
    before: [],
  },
  {
    name: 'SMN throttled past the retries (503)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.UPSTREAM_THROTTLED',
    arrange: (c) => void c.smn.failNext('updateSmsCallbacks', smnFailures.throttled(3000, FIXED_SMN_ID)),
    forwarded: true,
    upstream: { status: 429, requestId: FIXED_SMN_ID },
    before: [],
    headers: { 'retry-after': '3' },
  },
  {
    name: 'the store cannot take the intent (503, nothing forwarded)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.AUDIT_UNAVAILABLE',
    arrange: (c) => void c.store.failNext('writeIntent'),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: [],
  },
  {
    name: 'the store cannot take the project lock (503, nothing forwarded)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.AUDIT_UNAVAILABLE',
    arrange: (c) => void c.store.failNext('lockProject'),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
  },
  {
    name: 'the project lock was lost before forwarding (503, nothing forwarded)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.AUDIT_UNAVAILABLE',
    arrange: (c) => void c.smn.onNext('listSmsCallbacks', () => c.store.loseLocks(PROJECT_ID)),
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: [],
  },
  {
    name: 'another change holds the project lock past the wait (503 PROJECT_BUSY)',
    outcome: 'failed',
    status: 503,
    code: 'BFF.PROJECT_BUSY',
    // The test holds the lock through the store, as a concurrent change would.
    arrange: async (c) => (await c.store.lockProject(PROJECT_ID, 1_000)).release,
    forwarded: false,
    upstream: { status: null, requestId: null },
    before: null,
    headers: { 'retry-after': /^\d+$/ },
  },
  {
    name: 'SMN applied it but the answer timed out (504)',
    outcome: 'unknown',
    status: 504,
    code: 'BFF.UPSTREAM_TIMEOUT',
    arrange: (c) => void c.smn.failNext('updateSmsCallbacks', smnFailures.timeoutAfterSending(), { afterApplying: true }),
    forwarded: true,
    upstream: { status: null, requestId: null },
    before: [],
    applied: true,
  },
  {
    name: 'SMN answered 500 to the PUT (502)',
    outcome: 'unknown',
    status: 502,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    arrange: (c) => void c.smn.failNext('updateSmsCallbacks', smnFailures.serverErrorAfterSending(FIXED_SMN_ID)),
    forwarded: true,
    upstream: { status: 500, requestId: FIXED_SMN_ID },
    before: [],
  },
  {
    name: 'the project lock was lost while the change was forwarded (503)',
    outcome: 'unknown',
    status: 503,
    code: 'BFF.AUDIT_UNAVAILABLE',
    arrange: (c) => void c.smn.onNext('updateSmsCallbacks', () => c.store.loseLocks(PROJECT_ID)),
    forwarded: true,
    upstream: { status: null, requestId: null },
    before: [],
    applied: true,
  },
];

describe('audit: every PUT attempt leaves exactly one record with its outcome', () => {
  let c: ContractApp;

  beforeAll(async () => {
    c = await startContractApp({ env: { AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)) }, defaultKey: KEYS.writer.key });
  });
  afterAll(async () => {
    // All the records of the table form one intact, signed chain.
    expect(await c.verifyChain()).toEqual({ ok: true, count: c.store.allRecords().length });
    await c.close();
  });
  beforeEach(() => {
    c.smn.reset();
    c.smn.setConfiguration(PROJECT_ID, []);
  });

  async function expectOneRecord(row: Row): Promise<void> {
    const undo = await row.arrange?.(c);
    const requestId = newRequestId('outcome');
    const res = await (row.send ?? put(SEED_BODY))(c, requestId);
    await undo?.();

    expect(res.statusCode).toBe(row.status);
    if (row.status >= 400) expectEnvelope(res, row.status, row.code);
    for (const [name, value] of Object.entries(row.headers ?? {})) {
      if (value instanceof RegExp) expect(res.headers[name]).toMatch(value);
      else expect(res.headers[name]).toBe(value);
    }

    const records = c.recordsOf(requestId);
    expect(records).toHaveLength(1);
    const [record] = records;
    const update = c.smn.callsOf(requestId, 'updateSmsCallbacks');
    expect(record).toMatchObject({
      outcome: row.outcome,
      http_status: row.status,
      error_code: row.code || null,
      upstream_status: row.upstream.status,
      upstream_request_id: row.upstream.requestId === 'update' ? update[0]?.requestId : row.upstream.requestId,
      ...(row.actor ?? writer),
      actor_client_id: null,
      source_ip: '127.0.0.1',
      project_id: row.projectId ?? PROJECT_ID,
      requested: row.requested === undefined ? SEED_BODY : row.requested,
      before: row.before,
      amends: null,
    });
    expect(record.duration_ms).toBeGreaterThanOrEqual(0);
    if (row.status === 200) expect(res.json()).toEqual({ request_id: record.upstream_request_id });

    expect(update).toHaveLength(row.forwarded ? 1 : 0);
    expect(c.smn.configuration(PROJECT_ID).length > 0).toBe(row.applied ?? false);
    // Nothing is left behind: no intent, no held lock.
    expect(c.store.pendingIntents()).toEqual([]);
    expect(c.store.locksHeld(PROJECT_ID)).toBe(0);
  }

  it.each(ROWS)('$outcome: $name', expectOneRecord);

  // The final record of a forwarded attempt carries the code the caller received, also for errors that are not ours.
  it('unknown: an unexpected error after forwarding (500) records the code the caller received', () =>
    expectOneRecord({
      name: 'an unexpected error after forwarding',
      outcome: 'unknown',
      status: 500,
      code: 'BFF.INTERNAL',
      arrange: (c) => void c.smn.failNext('updateSmsCallbacks', new TypeError('internal detail'), { afterApplying: true }),
      forwarded: true,
      upstream: { status: null, requestId: null },
      before: [],
      applied: true,
    }));

  it('serves the records through GET /audit/events exactly as stored', async () => {
    const requestId = newRequestId('served');
    await put(SEED_BODY)(c, requestId);
    const [record] = c.recordsOf(requestId);
    const res = await c.get(`/audit/events?project_id=${PROJECT_ID}&outcome=succeeded&limit=200`, { key: KEYS.auditor.key });
    expect(res.statusCode).toBe(200);
    expect((res.json().items as AuditRecord[]).filter((item) => item.request_id === requestId)).toEqual([record]);
  });

  it('keeps a record the store could not take, and stores it once the store is back', async () => {
    const requestId = newRequestId('deferred');
    c.store.goDown();
    const res = await put(SEED_BODY)(c, requestId);
    c.store.comeBack();
    // The lock could not be taken: fail closed, nothing forwarded.
    expectEnvelope(res, 503, 'BFF.AUDIT_UNAVAILABLE');
    expect(c.smn.calls).toEqual([]);
    expect(c.recordsOf(requestId)).toEqual([]);

    await c.app.get(AuditService).sweepStaleIntents();

    expect(c.recordsOf(requestId)).toEqual([expect.objectContaining({ outcome: 'failed', http_status: 503, error_code: 'BFF.AUDIT_UNAVAILABLE' })]);
  });
});
