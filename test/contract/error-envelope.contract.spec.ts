import type { LightMyRequestResponse } from 'fastify';
import { Scope } from '../../src/auth/caller';
import { smnFailures } from './support/fake-smn.port';
import {
  apiKey,
  apiKeysEnv,
  callbackPath,
  ContractApp,
  expectEnvelope,
  PROJECT_ID,
  SEED_BODY,
  startContractApp,
  UNSERVED_PROJECT_ID,
} from './support/contract-app';

const KEYS = {
  writer: apiKey('writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  reader: apiKey('reader', [Scope.SmsCallbackRead], '*'),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
};
const SECRET = 'password=hunter2 at /srv/app/internal.js:42';

/** A compact JWS with a `kid`: verifying it needs the issuer's keys. */
const jwtNeedingKeys = () =>
  [
    { alg: 'ES256', kid: 'k1', typ: 'JWT' },
    { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 },
  ]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .concat('c2lnbmF0dXJl')
    .join('.');

interface Case {
  name: string;
  status: number;
  code: string;
  send: (c: ContractApp) => Promise<LightMyRequestResponse>;
  headers?: Record<string, RegExp>;
  /** The body carries field-level `errors` / SMN's `upstream`. */
  errors?: boolean;
  upstream?: boolean;
}

const failingGet = (error: () => unknown) => (c: ContractApp) => {
  c.smn.failNext('listSmsCallbacks', error());
  return c.get(callbackPath());
};

/** Every error status the app answers, each provoked once, each in the one envelope. */
const CASES: Case[] = [
  { name: 'invalid body', status: 400, code: 'BFF.VALIDATION_FAILED', errors: true, send: (c) => c.put(callbackPath(), { callback: [] }) },
  { name: 'invalid query', status: 400, code: 'BFF.VALIDATION_FAILED', errors: true, send: (c) => c.get(`${callbackPath()}?event_type=sms_reply_event&x=1`) },
  { name: "SMN's own rule", status: 400, code: 'SMN.0100', errors: true, send: (c) => c.get(`${callbackPath()}?event_type=x`) },
  { name: 'invalid path', status: 400, code: 'BFF.VALIDATION_FAILED', errors: true, send: (c) => c.get(callbackPath('XYZ')) },
  { name: 'malformed JSON', status: 400, code: 'BFF.VALIDATION_FAILED', send: (c) => c.put(callbackPath(), '{') },
  {
    name: 'JSON nested too deep',
    status: 400,
    code: 'BFF.VALIDATION_FAILED',
    errors: true,
    send: (c) => c.put(callbackPath(), '['.repeat(40) + ']'.repeat(40)),
  },
  {
    name: 'a cursor the store did not make',
    status: 400,
    code: 'BFF.VALIDATION_FAILED',
    errors: true,
    send: (c) => c.get('/audit/events?cursor=bm9wZQ', { key: KEYS.auditor.key }),
  },
  {
    name: 'no credentials',
    status: 401,
    code: 'BFF.UNAUTHENTICATED',
    headers: { 'www-authenticate': /^Bearer realm=/ },
    send: (c) => c.get(callbackPath(), { key: null }),
  },
  { name: 'missing scope', status: 403, code: 'BFF.FORBIDDEN', send: (c) => c.put(callbackPath(), SEED_BODY, { key: KEYS.reader.key }) },
  { name: 'unknown route', status: 404, code: 'BFF.NOT_FOUND', send: (c) => c.get('/v3/nothing') },
  {
    name: 'unknown method on a known path',
    status: 404,
    code: 'BFF.NOT_FOUND',
    send: (c) => c.inject({ method: 'DELETE', url: callbackPath(), headers: { 'x-api-key': KEYS.writer.key } }),
  },
  { name: 'project not served', status: 404, code: 'BFF.PROJECT_NOT_FOUND', send: (c) => c.get(callbackPath(UNSERVED_PROJECT_ID)) },
  {
    name: 'If-Match failed',
    status: 412,
    code: 'BFF.PRECONDITION_FAILED',
    send: (c) => c.put(callbackPath(), SEED_BODY, { headers: { 'if-match': '"old"' } }),
  },
  { name: 'body too large', status: 413, code: 'BFF.PAYLOAD_TOO_LARGE', send: (c) => c.put(callbackPath(), { pad: 'x'.repeat(65 * 1024) }) },
  {
    name: 'not JSON',
    status: 415,
    code: 'BFF.UNSUPPORTED_MEDIA_TYPE',
    send: (c) => c.put(callbackPath(), '<x/>', { headers: { 'content-type': 'application/xml' } }),
  },
  { name: 'an unexpected error (no internals leak)', status: 500, code: 'BFF.INTERNAL', send: failingGet(() => new Error(SECRET)) },
  { name: 'SMN failed', status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', upstream: true, send: failingGet(() => smnFailures.serverError()) },
  { name: 'SMN unreachable', status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', send: failingGet(smnFailures.unreachable) },
  { name: 'SMN refused our credentials', status: 502, code: 'BFF.UPSTREAM_AUTH_FAILED', upstream: true, send: failingGet(() => smnFailures.authFailed()) },
  {
    name: 'SMN rejected the change',
    status: 400,
    code: 'SMN.0141',
    upstream: true,
    send: (c) => c.put(callbackPath(), { callback: [{ event_type: 'sms_fail_event', topic_urn: `urn:smn:cn-north-4:${PROJECT_ID}:missing` }] }),
  },
  {
    name: 'SMN throttles',
    status: 503,
    code: 'BFF.UPSTREAM_THROTTLED',
    upstream: true,
    headers: { 'retry-after': /^\d+$/ },
    send: failingGet(() => smnFailures.throttled()),
  },
  {
    name: 'circuit open',
    status: 503,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    headers: { 'retry-after': /^\d+$/ },
    send: failingGet(() => smnFailures.circuitOpen()),
  },
  {
    name: 'project busy',
    status: 503,
    code: 'BFF.PROJECT_BUSY',
    headers: { 'retry-after': /^\d+$/ },
    send: async (c) => {
      const held = await c.store.lockProject(PROJECT_ID, 1_000);
      try {
        return await c.put(callbackPath(), SEED_BODY);
      } finally {
        await held.release();
      }
    },
  },
  {
    name: 'audit store unavailable',
    status: 503,
    code: 'BFF.AUDIT_UNAVAILABLE',
    send: (c) => {
      c.store.failNext('writeIntent');
      return c.put(callbackPath(), SEED_BODY);
    },
  },
  { name: 'SMN too slow', status: 504, code: 'BFF.UPSTREAM_TIMEOUT', send: failingGet(smnFailures.timeout) },
];

describe('the error envelope', () => {
  let c: ContractApp;
  beforeAll(async () => {
    c = await startContractApp({ env: { AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)) }, defaultKey: KEYS.writer.key });
  });
  afterAll(() => c.close());
  beforeEach(() => {
    c.smn.reset();
    c.smn.setConfiguration(PROJECT_ID, []);
  });

  it.each(CASES)('$status $code: $name', async (row) => {
    const res = await row.send(c);
    const body = expectEnvelope(res, row.status, row.code);
    for (const [name, pattern] of Object.entries(row.headers ?? {})) expect(res.headers[name]).toMatch(pattern);
    if (row.errors) expect(body.errors).toEqual(expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]));
    else expect(body.errors).toBeUndefined();
    if (row.upstream) expect(body.upstream).toEqual(expect.objectContaining({ status: expect.any(Number), request_id: expect.any(String) }));
    else expect(body.upstream).toBeUndefined();
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('internal.js');
  });

  it('provokes every error status of the README table (429 and the JWKS 503 below)', () => {
    expect([...new Set(CASES.map((row) => row.status))].sort((a, b) => a - b)).toEqual([400, 401, 403, 404, 412, 413, 415, 500, 502, 503, 504]);
  });
});

describe('the error envelope of the rate limit and of caller authentication', () => {
  let c: ContractApp;
  beforeAll(async () => {
    c = await startContractApp({
      env: {
        AUTH_API_KEYS: apiKeysEnv([KEYS.writer]),
        // Nothing listens there: the JWKS cannot be fetched and no key is cached.
        AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
        AUTH_JWT_ISSUER: 'https://issuer.test',
        AUTH_JWT_AUDIENCE: 'sms-callback-bff',
        RATE_LIMIT_CALLER_LIMIT: '1',
      },
      defaultKey: KEYS.writer.key,
    });
  });
  afterAll(() => c.close());

  it("503 BFF.AUTH_UNAVAILABLE when the issuer's keys cannot be fetched", async () => {
    const res = await c.get(callbackPath(), { key: null, headers: { authorization: `Bearer ${jwtNeedingKeys()}` } });
    expectEnvelope(res, 503, 'BFF.AUTH_UNAVAILABLE');
  });

  it("429 BFF.RATE_LIMITED with Retry-After past the caller's budget", async () => {
    expect((await c.get(callbackPath())).statusCode).toBe(200);
    const res = await c.get(callbackPath());
    expectEnvelope(res, 429, 'BFF.RATE_LIMITED');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });
});
