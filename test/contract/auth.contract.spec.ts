import type { LightMyRequestResponse } from 'fastify';
import { Scope } from '../../src/auth/caller';
import { AuditOptions } from '../../src/audit/audit-options';
import { anIntent } from '../audit/support/audit-factories';
import {
  apiKey,
  apiKeysEnv,
  callbackPath,
  ContractApp,
  DEV_KEY,
  expectEnvelope,
  newRequestId,
  OTHER_PROJECT_ID,
  OTHER_REGION,
  PROJECT_ID,
  SEED_BODY,
  startContractApp,
  UNSERVED_PROJECT_ID,
  urn,
} from './support/contract-app';

const BARE_CHALLENGE = 'Bearer realm="sms-callback-bff"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="sms-callback-bff", error="invalid_token"';

function expectUnauthenticated(res: LightMyRequestResponse, challenge: string): void {
  expectEnvelope(res, 401, 'BFF.UNAUTHENTICATED');
  expect(res.headers['www-authenticate']).toBe(challenge);
}

const otherBody = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', OTHER_PROJECT_ID, OTHER_REGION) }] };

describe('auth contract with the development key (nothing configured, not production)', () => {
  let c: ContractApp;
  beforeAll(async () => {
    c = await startContractApp();
  });
  afterAll(() => c.close());

  it('accepts the development key for reads, writes and the audit, and audits it as "development"', async () => {
    const id = newRequestId('dev');
    expect((await c.get(callbackPath())).statusCode).toBe(200);
    expect((await c.put(callbackPath(), SEED_BODY, { requestId: id })).statusCode).toBe(200);
    expect((await c.get(`/audit/events?project_id=${PROJECT_ID}`)).statusCode).toBe(200);
    expect((await c.get('/audit/verification')).json()).toEqual({ intact: true, records: 1 });
    expect(c.recordsOf(id)).toEqual([expect.objectContaining({ actor_kind: 'development', actor_subject: 'development', outcome: 'succeeded' })]);
  });

  it.each<[string, { key?: string | null; headers?: Record<string, string>; query?: string }, string]>([
    ['no credentials', { key: null }, BARE_CHALLENGE],
    ['an unknown key', { key: 'not-the-development-key' }, INVALID_TOKEN_CHALLENGE],
    ['an empty key', { key: '' }, INVALID_TOKEN_CHALLENGE],
    ['a bearer token (no JWT issuer configured)', { key: null, headers: { authorization: 'Bearer abc.def.ghi' } }, INVALID_TOKEN_CHALLENGE],
    ['a malformed Authorization header', { key: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } }, BARE_CHALLENGE],
    ['both a bearer token and an API key', { headers: { authorization: 'Bearer abc.def.ghi' } }, INVALID_TOKEN_CHALLENGE],
    ['the key in the query string, even with a valid header', { query: `?api_key=${DEV_KEY}` }, INVALID_TOKEN_CHALLENGE],
    ['an access_token in the query string', { key: null, query: '?access_token=abc' }, INVALID_TOKEN_CHALLENGE],
  ])('refuses %s with 401 and WWW-Authenticate', async (_, { key, headers, query = '' }, challenge) => {
    expectUnauthenticated(await c.get(`${callbackPath()}${query}`, { key, headers }), challenge);
    expectUnauthenticated(await c.put(`${callbackPath()}${query}`, SEED_BODY, { key, headers }), challenge);
  });

  it.each(['/health/live', '/health/ready'])('%s needs no credentials', async (path) => {
    expect((await c.get(path, { key: null })).statusCode).toBe(200);
  });

  it('does not serve /metrics on the public port (they have a listener of their own), with or without credentials', async () => {
    for (const key of [null, DEV_KEY]) expectEnvelope(await c.get('/metrics', { key }), 404, 'BFF.NOT_FOUND');
  });
});

describe('auth contract with API keys', () => {
  const KEYS = {
    writer: apiKey('writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
    reader: apiKey('reader', [Scope.SmsCallbackRead], '*'),
    otherWriter: apiKey('other-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], [OTHER_PROJECT_ID]),
    auditor: apiKey('auditor', [Scope.AuditRead], '*'),
    projectAuditor: apiKey('project-auditor', [Scope.AuditRead], [PROJECT_ID]),
  };
  type KeyName = keyof typeof KEYS;
  let c: ContractApp;

  beforeAll(async () => {
    c = await startContractApp({ env: { AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)) } });
  });
  afterAll(() => c.close());

  it('refuses the development key once real keys are configured', async () => {
    expectUnauthenticated(await c.get(callbackPath(), { key: DEV_KEY }), INVALID_TOKEN_CHALLENGE);
  });

  // Every row names its code (null for a success): a row shorter than the test's parameters would make jest
  // pass a `done` callback in the missing place.
  it.each<[KeyName, 'GET' | 'PUT', string, number, string | null]>([
    ['writer', 'GET', callbackPath(), 200, null],
    ['writer', 'PUT', callbackPath(), 200, null],
    ['reader', 'GET', callbackPath(), 200, null],
    ['reader', 'PUT', callbackPath(), 403, 'BFF.FORBIDDEN'],
    ['otherWriter', 'PUT', callbackPath(OTHER_PROJECT_ID), 200, null],
    ['otherWriter', 'GET', callbackPath(), 403, 'BFF.FORBIDDEN'],
    ['otherWriter', 'PUT', callbackPath(), 403, 'BFF.FORBIDDEN'],
    // Project access is checked before the project is looked up: a key without it learns nothing.
    ['otherWriter', 'GET', callbackPath(UNSERVED_PROJECT_ID), 403, 'BFF.FORBIDDEN'],
    ['writer', 'GET', callbackPath(UNSERVED_PROJECT_ID), 404, 'BFF.PROJECT_NOT_FOUND'],
    ['writer', 'GET', '/audit/events', 403, 'BFF.FORBIDDEN'],
    ['auditor', 'GET', callbackPath(), 403, 'BFF.FORBIDDEN'],
    ['auditor', 'GET', '/audit/events', 200, null],
    ['auditor', 'GET', '/audit/verification', 200, null],
    ['auditor', 'GET', '/audit/checkpoint', 200, null],
    ['projectAuditor', 'GET', '/audit/events', 400, 'BFF.VALIDATION_FAILED'],
    ['projectAuditor', 'GET', `/audit/events?project_id=${PROJECT_ID}`, 200, null],
    ['projectAuditor', 'GET', `/audit/events?project_id=${OTHER_PROJECT_ID}`, 403, 'BFF.FORBIDDEN'],
    ['projectAuditor', 'GET', '/audit/verification', 403, 'BFF.FORBIDDEN'],
    ['projectAuditor', 'GET', '/audit/checkpoint', 403, 'BFF.FORBIDDEN'],
  ])('%s: %s %s → %i', async (name, method, path, status, code) => {
    const key = KEYS[name].key;
    const body = path.includes(OTHER_PROJECT_ID) ? otherBody : SEED_BODY;
    const res = method === 'GET' ? await c.get(path, { key }) : await c.put(path, body, { key });
    expect(res.statusCode).toBe(status);
    if (code) {
      expectEnvelope(res, status, code);
      // A refusal of a known caller is no authentication challenge.
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
  });

  it("shows a project-scoped auditor only its projects' records", async () => {
    await c.put(callbackPath(), SEED_BODY, { key: KEYS.writer.key });
    await c.put(callbackPath(OTHER_PROJECT_ID), otherBody, { key: KEYS.otherWriter.key });
    const res = await c.get(`/audit/events?project_id=${PROJECT_ID}&limit=200`, { key: KEYS.projectAuditor.key });
    const items = res.json().items as Array<{ project_id: string }>;
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((i) => i.project_id))).toEqual(new Set([PROJECT_ID]));
  });
});

describe('auth contract: rate limits', () => {
  const writer = apiKey('limited-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*');
  let c: ContractApp;
  beforeAll(async () => {
    c = await startContractApp({
      env: { AUTH_API_KEYS: apiKeysEnv([writer]), RATE_LIMIT_CALLER_LIMIT: '2', RATE_LIMIT_ANONYMOUS_LIMIT: '2' },
      defaultKey: writer.key,
    });
  });
  afterAll(() => c.close());

  it('answers a caller over its budget 429 with Retry-After, and does not audit the refused PUT', async () => {
    expect((await c.get(callbackPath())).statusCode).toBe(200);
    expect((await c.get(callbackPath())).statusCode).toBe(200);
    const id = newRequestId('limited');
    const res = await c.put(callbackPath(), SEED_BODY, { requestId: id });
    expectEnvelope(res, 429, 'BFF.RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(c.recordsOf(id)).toEqual([]);
    expect(c.smn.calls.filter((call) => call.operation === 'updateSmsCallbacks')).toEqual([]);
  });

  it('charges failed authentication to the source IP: 401 within the budget, 429 beyond', async () => {
    expectUnauthenticated(await c.get(callbackPath(), { key: 'wrong' }), INVALID_TOKEN_CHALLENGE);
    expectUnauthenticated(await c.get(callbackPath(), { key: 'wrong' }), INVALID_TOKEN_CHALLENGE);
    const res = await c.get(callbackPath(), { key: 'wrong' });
    expectEnvelope(res, 429, 'BFF.RATE_LIMITED');
    expect(res.headers['retry-after']).toEqual(expect.any(String));
  });

  it("shows the audit backlog in the metrics: pending intents and the oldest one's age", async () => {
    const scrape = () => c.scrape();
    expect(await scrape()).toMatch(/^audit_pending_intents 0$/m);
    expect(await scrape()).toMatch(/^audit_oldest_intent_age_seconds 0$/m);
    // An intent whose final record is not written yet.
    // This instance's own (its lease is live), so no sweep takes it before the scrape.
    await c.store.writeIntent(anIntent({ instance_id: c.app.get(AuditOptions).instanceId }));
    const metrics = await scrape();
    expect(metrics).toMatch(/^audit_pending_intents 1$/m);
    expect(Number(/^audit_oldest_intent_age_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(0);
  });

  it('counts the 429s by budget in the metrics', async () => {
    const metrics = await c.scrape();
    // The two tests above: one caller over its budget, one source IP over its failed-authentication budget.
    expect(metrics).toMatch(/^rate_limit_rejections_total\{kind="caller"\} 1$/m);
    expect(metrics).toMatch(/^rate_limit_rejections_total\{kind="ip"\} 1$/m);
  });
});
