import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { DEMO_CREDENTIALS, DEMO_IAM_USER, DEMO_PROJECT_ID, RunningEmulator, startEmulator } from './emulator';

/** The SMN API, the gateway's checks and IAM over real HTTP, as a client of the real service sees them. */

const PID = DEMO_PROJECT_ID;
const PATH = `/v2/${PID}/notifications/sms/callback`;
const urn = (topic: string, project = PID, region = 'cn-north-4') => `urn:smn:${region}:${project}:${topic}`;
const HEX32 = /^[0-9a-f]{32}$/;

interface CallOptions {
  body?: string | object;
  headers?: Record<string, string>;
  /** Sign with these credentials (default the demo pair); false sends no signature. */
  sign?: { ak: string; sk: string; date?: Date } | false;
  /** Changes the request after it was signed. */
  tamper?: { body?: string; headers?: Record<string, string> };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A small SDK-HMAC-SHA256 signer written for this test from the published algorithm (JSON requests
 * only, unreserved characters in paths), so the emulator is checked against a second reading of the
 * algorithm rather than against itself.
 */
function sign(method: string, url: URL, headers: Record<string, string>, body: string, ak: string, sk: string, date: Date) {
  const sdkDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const all: Record<string, string> = { ...lower(headers), host: url.host, 'x-sdk-date': sdkDate };
  const names = Object.keys(all).sort();
  const query = [...url.searchParams]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  const canonical = [
    method,
    path,
    query,
    names.map((n) => `${n}:${all[n].trim()}\n`).join(''),
    names.join(';'),
    createHash('sha256').update(body).digest('hex'),
  ].join('\n');
  const toSign = `SDK-HMAC-SHA256\n${sdkDate}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', sk).update(toSign).digest('hex');
  const { host: _host, ...rest } = all;
  return { ...rest, authorization: `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const url = new URL(path, base);
  const body = options.body === undefined ? '' : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  let headers: Record<string, string> = { 'content-type': 'application/json', ...lower(options.headers ?? {}) };
  if (options.sign !== false) {
    const { ak, sk, date } = options.sign ?? { ...DEMO_CREDENTIALS, date: undefined };
    headers = sign(method, url, headers, body, ak, sk, date ?? new Date());
  }
  headers = { ...headers, ...lower(options.tamper?.headers ?? {}) };
  const sent = options.tamper?.body ?? body;
  const res = await request(url, { method: method as 'GET', headers, body: sent === '' ? undefined : sent });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

describe('SMN emulator: callback configuration', () => {
  let emu: RunningEmulator;
  const get = (path = PATH, options?: CallOptions) => call(emu.url, 'GET', path, options);
  const put = (body: unknown, options?: CallOptions, path = PATH) => call(emu.url, 'PUT', path, { body: body as object, ...options });

  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.state.reset());

  it('lists nothing at first, with a request id in the body and the X-Request-Id header', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ request_id: expect.stringMatching(HEX32), callback: [] });
    expect(res.headers['x-request-id']).toBe(res.json.request_id);
  });

  it('shows a PUT in the next GET', async () => {
    const res = await put({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ request_id: expect.stringMatching(HEX32) });
    expect(res.headers['x-request-id']).toBe(res.json.request_id);
    expect((await get()).json.callback).toEqual([{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }]);
  });

  it('upserts per event type and keeps the types a PUT does not name', async () => {
    await put({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail') }] });
    await put({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }] });
    await put({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_reply') }] });
    expect((await get()).json.callback).toEqual([
      { event_type: 'sms_fail_event', topic_urn: urn('test_reply') },
      { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
    ]);
  });

  it('deletes a callback whose topic_urn is ""', async () => {
    await put({
      callback: [
        { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
        { event_type: 'sms_success_event', topic_urn: urn('test_success') },
      ],
    });
    expect((await put({ callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] })).status).toBe(200);
    expect((await get()).json.callback).toEqual([{ event_type: 'sms_success_event', topic_urn: urn('test_success') }]);
    // Deleting what is not configured is not an error.
    expect((await put({ callback: [{ event_type: 'sms_reply_event', topic_urn: '' }] })).status).toBe(200);
  });

  it('filters by event_type', async () => {
    await put({
      callback: [
        { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
        { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
      ],
    });
    expect((await get(`${PATH}?event_type=sms_reply_event`)).json.callback).toEqual([{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }]);
    expect((await get(`${PATH}?event_type=sms_success_event`)).json.callback).toEqual([]);
  });

  it.each([['sms_delivered_event'], [''], ['SMS_REPLY_EVENT']])('answers SMN.0100 to event_type=%s', async (type) => {
    const res = await get(`${PATH}?event_type=${type}`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ request_id: res.headers['x-request-id'], code: 'SMN.0100', message: 'The eventType parameter is invalid.' });
  });

  it('tolerates a bare trailing "?", as the Go SDK sends it', async () => {
    // undici drops a bare "?", so this request goes out through node:http, path as written.
    const url = new URL(PATH, emu.url);
    const headers = sign('GET', url, {}, '', DEMO_CREDENTIALS.ak, DEMO_CREDENTIALS.sk, new Date());
    const res = await new Promise<{ status?: number; text: string }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: `${PATH}?`, headers }, (answer) => {
        let text = '';
        answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
        answer.on('end', () => resolve({ status: answer.statusCode, text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).callback).toEqual([]);
    expect(emu.state.requestLog.list().at(-1)?.url).toBe(`${PATH}?`);
  });

  const FAIL_INVALID = ['SMN.0140', 'The topic URN configured for the message sending failure event is invalid.'];
  const FAIL_MISSING = ['SMN.0141', 'The topic configured for the message sending failure event does not exist.'];
  const SUCCESS_INVALID = ['SMN.0142', 'The topic URN configured for the message sending success event is invalid.'];
  const SUCCESS_MISSING = ['SMN.0143', 'The topic configured for the message sending success event does not exist.'];
  const REPLY_INVALID = ['SMN.0144', 'The topic URN configured for the response message event is invalid.'];
  const REPLY_MISSING = ['SMN.0145', 'The topic configured for the response message event does not exist.'];

  it.each([
    ['an unknown event_type', { event_type: 'sms_other_event', topic_urn: urn('test_fail') }, ['SMN.0100', 'The eventType parameter is invalid.']],
    ['no event_type', { topic_urn: urn('test_fail') }, ['SMN.0100', 'The eventType parameter is invalid.']],
    ['a malformed fail URN', { event_type: 'sms_fail_event', topic_urn: 'urn:smn:cn-north-4:test_fail' }, FAIL_INVALID],
    ['a fail URN of another region', { event_type: 'sms_fail_event', topic_urn: urn('test_fail', PID, 'eu-west-0') }, FAIL_INVALID],
    ['a fail URN of another project', { event_type: 'sms_fail_event', topic_urn: urn('test_fail', 'a'.repeat(32)) }, FAIL_INVALID],
    ['a fail URN that is not a string', { event_type: 'sms_fail_event', topic_urn: null }, FAIL_INVALID],
    ['an unknown fail topic', { event_type: 'sms_fail_event', topic_urn: urn('nope') }, FAIL_MISSING],
    ['a malformed success URN', { event_type: 'sms_success_event', topic_urn: `${urn('test_success')} ` }, SUCCESS_INVALID],
    ['an unknown success topic', { event_type: 'sms_success_event', topic_urn: urn('nope') }, SUCCESS_MISSING],
    ['a malformed reply URN', { event_type: 'sms_reply_event', topic_urn: urn('-starts-with-dash') }, REPLY_INVALID],
    ['an unknown reply topic', { event_type: 'sms_reply_event', topic_urn: urn('nope') }, REPLY_MISSING],
  ])('answers 400 to %s', async (_name, item, [code, message]) => {
    const res = await put({ callback: [item] });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ request_id: expect.stringMatching(HEX32), code, message });
    expect(res.headers['x-request-id']).toBe(res.json.request_id);
  });

  it('applies nothing when one item is bad (the body is validated as a whole)', async () => {
    await put({ callback: [{ event_type: 'sms_success_event', topic_urn: urn('test_success') }] });
    const res = await put({
      callback: [
        { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
        { event_type: 'sms_success_event', topic_urn: '' },
        { event_type: 'sms_fail_event', topic_urn: urn('nope') },
      ],
    });
    expect(res.json.code).toBe('SMN.0141');
    expect((await get()).json.callback).toEqual([{ event_type: 'sms_success_event', topic_urn: urn('test_success') }]);
  });

  it.each([
    ['not JSON', '{"callback":['],
    ['empty', ''],
    ['without callback', { callbacks: [] }],
    ['with an empty callback list', { callback: [] }],
    ['with callback not a list', { callback: { event_type: 'sms_fail_event', topic_urn: '' } }],
    [
      'with one event type twice',
      {
        callback: [
          { event_type: 'sms_fail_event', topic_urn: '' },
          { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
        ],
      },
    ],
  ])('answers 400 SMN.9999 to a body %s', async (_name, body) => {
    const res = await put(body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ request_id: expect.stringMatching(HEX32), code: 'SMN.9999', message: 'The request body is invalid.' });
  });

  it('treats any other 32-hex project as existing, in the default region, with no topics', async () => {
    const other = `/v2/${'b'.repeat(32)}/notifications/sms/callback`;
    expect((await get(other, { headers: {} })).json.callback).toEqual([]);
    expect((await put({ callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] }, {}, other)).status).toBe(200);
    const res = await put({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', 'b'.repeat(32)) }] }, {}, other);
    expect(res.json.code).toBe('SMN.0141');
  });

  it('answers 403 SMN.0001 for a project id that is not 32 hex characters', async () => {
    const res = await get('/v2/not-a-project/notifications/sms/callback');
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'SMN.0001', message: 'No permission to request resources.' });
  });

  it('answers 404 APIGW.0101 for an API it does not have', async () => {
    const res = await call(emu.url, 'POST', PATH, { body: {} });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      error_code: 'APIGW.0101',
      error_msg: 'The API does not exist or has not been published in the environment.',
      request_id: res.headers['x-request-id'],
    });
  });

  it('answers 413 APIGW.0201 for a body over 12 MB', async () => {
    const res = await put('x'.repeat(12 * 1024 * 1024 + 1), { sign: false });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error_code: 'APIGW.0201', error_msg: 'Request entity too large.' });
  });
});

describe('SMN emulator: the gateway checks every /v2 request', () => {
  let emu: RunningEmulator;
  const apig401 = (message: string) => ({ error_code: 'APIGW.0301', error_msg: message, request_id: expect.stringMatching(HEX32) });

  beforeAll(async () => {
    emu = await startEmulator({ credentials: [DEMO_CREDENTIALS, { ak: 'SECONDKEY', sk: 'second-secret' }] });
  });
  afterAll(() => emu.close());

  it('accepts a signed request with X-Project-Id, as the SDKs send it', async () => {
    const res = await call(emu.url, 'GET', `${PATH}?event_type=sms_fail_event`, { headers: { 'X-Project-Id': PID } });
    expect(res.status).toBe(200);
  });

  it('verifies the body of a GET too: the official Node SDK sends and signs "{}" with its GETs', async () => {
    expect((await call(emu.url, 'GET', PATH, { body: '{}' })).status).toBe(200);
    const tampered = await call(emu.url, 'GET', PATH, { body: '{}', tamper: { body: '[]' } });
    expect(tampered.json.error_msg).toBe('Incorrect IAM authentication information: verify aksk signature fail');
  });

  it('accepts every configured key pair', async () => {
    expect((await call(emu.url, 'GET', PATH, { sign: { ak: 'SECONDKEY', sk: 'second-secret' } })).status).toBe(200);
  });

  it('refuses a request without credentials', async () => {
    const res = await call(emu.url, 'GET', PATH, { sign: false });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(apig401('Incorrect IAM authentication information: Authorization not found'));
    expect(res.headers['x-request-id']).toBe(res.json.request_id);
  });

  it('refuses a caller credential that is not an AK/SK signature', async () => {
    const res = await call(emu.url, 'GET', PATH, { sign: false, headers: { Authorization: 'Bearer some.jwt.token' } });
    expect(res.status).toBe(401);
    expect(res.json.error_code).toBe('APIGW.0301');
  });

  it('refuses an unknown access key', async () => {
    const res = await call(emu.url, 'GET', PATH, { sign: { ak: 'UNKNOWNAK', sk: 'whatever' } });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(apig401('Incorrect IAM authentication information: ak UNKNOWNAK not exist'));
  });

  it('refuses a wrong secret key', async () => {
    const res = await call(emu.url, 'GET', PATH, { sign: { ak: DEMO_CREDENTIALS.ak, sk: 'wrong' } });
    expect(res.json).toEqual(apig401('Incorrect IAM authentication information: verify aksk signature fail'));
  });

  it('refuses a body changed after signing', async () => {
    const body = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] };
    const res = await call(emu.url, 'PUT', PATH, { body, tamper: { body: JSON.stringify({ ...body, x: 1 }) } });
    expect(res.status).toBe(401);
    expect(res.json.error_msg).toBe('Incorrect IAM authentication information: verify aksk signature fail');
  });

  it('refuses a signed header changed after signing', async () => {
    const res = await call(emu.url, 'GET', PATH, { headers: { 'X-Project-Id': PID }, tamper: { headers: { 'X-Project-Id': 'c'.repeat(32) } } });
    expect(res.status).toBe(401);
  });

  it('refuses a signature older than 15 minutes', async () => {
    const res = await call(emu.url, 'GET', PATH, { sign: { ...DEMO_CREDENTIALS, date: new Date(Date.now() - 16 * 60_000) } });
    expect(res.status).toBe(401);
    expect(res.json.error_msg).toMatch(
      /^Incorrect IAM authentication information: calc aksk signature fail:signature expired, signature time:\d{8}T\d{6}Z,server time:\d{8}T\d{6}Z$/,
    );
  });

  it('refuses an X-Project-Id that is not the project in the path', async () => {
    const res = await call(emu.url, 'GET', PATH, { headers: { 'X-Project-Id': 'c'.repeat(32) } });
    expect(res.status).toBe(401);
    expect(res.json.error_msg).toMatch(/X-Project-Id/);
  });
});

describe('SMN emulator: IAM tokens', () => {
  let emu: RunningEmulator;
  const tokenRequest = (project: object, password = DEMO_IAM_USER.password) => ({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: DEMO_IAM_USER.name, password, domain: { name: DEMO_IAM_USER.domain } } },
      },
      scope: { project },
    },
  });
  const issue = (base: string, body: object) => call(base, 'POST', '/v3/auth/tokens', { body, sign: false });
  const withToken = (base: string, token: string, path = PATH) =>
    call(base, 'GET', path, { sign: false, headers: { 'X-Auth-Token': token, 'X-Project-Id': PID } });

  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());

  it('issues a token scoped to a project id, which then authenticates SMN calls', async () => {
    const before = Date.now();
    const res = await issue(emu.url, tokenRequest({ id: PID }));
    expect(res.status).toBe(201);
    const token = res.headers['x-subject-token'] as string;
    expect(token).toEqual(expect.any(String));
    expect(res.json.token).toMatchObject({
      methods: ['password'],
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      issued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      project: { id: PID, name: 'cn-north-4' },
      user: { name: 'demo-user', domain: { name: 'demo-domain' } },
    });
    const lifetime = Date.parse(res.json.token.expires_at) - before;
    expect(lifetime).toBeGreaterThan(86_400_000 - 5_000);
    expect(lifetime).toBeLessThanOrEqual(86_400_000 + 5_000);

    const used = await withToken(emu.url, token);
    expect(used.status).toBe(200);
    const logged = emu.state.requestLog.list().find((e) => e.request_id === used.json.request_id);
    expect(logged?.auth).toEqual({ mode: 'token', user: 'demo-user' });
  });

  it('issues a token scoped by project name (the region), as the SMN SDKs ask', async () => {
    const res = await issue(emu.url, tokenRequest({ name: 'cn-north-4' }));
    expect(res.status).toBe(201);
    expect(res.json.token.project).toMatchObject({ id: PID, name: 'cn-north-4' });
  });

  it('answers a wrong password with 401 in Keystone form', async () => {
    const res = await issue(emu.url, tokenRequest({ id: PID }, 'wrong-password'));
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } });
    expect(res.headers['x-subject-token']).toBeUndefined();
  });

  it('answers a malformed token request with 400', async () => {
    const res = await issue(emu.url, { auth: { identity: { methods: ['token'] } } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 400, title: 'Bad Request' });
  });

  it('does not keep the password in the request log', async () => {
    await issue(emu.url, tokenRequest({ id: PID }));
    const logged = emu.state.requestLog.list().filter((e) => e.path === '/v3/auth/tokens');
    expect(JSON.stringify(logged)).not.toContain(DEMO_IAM_USER.password);
  });

  it('refuses an expired token', async () => {
    let now = Date.now();
    const shortLived = await startEmulator({ tokenLifetimeSeconds: 60, clock: () => now });
    try {
      const token = (await issue(shortLived.url, tokenRequest({ id: PID }))).headers['x-subject-token'] as string;
      now += 59_000;
      expect((await withToken(shortLived.url, token)).status).toBe(200);
      now += 1_000;
      const res = await withToken(shortLived.url, token);
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information: token expired' });
    } finally {
      await shortLived.close();
    }
  });

  it('refuses a token scoped to another project', async () => {
    const other = 'd'.repeat(32);
    const token = (await issue(emu.url, tokenRequest({ id: other }))).headers['x-subject-token'] as string;
    const res = await call(emu.url, 'GET', PATH, { sign: false, headers: { 'X-Auth-Token': token } });
    expect(res.status).toBe(401);
    expect(res.json.error_msg).toBe(`Incorrect IAM authentication information: token is not scoped to project ${PID}`);
    expect((await withToken(emu.url, token, `/v2/${other}/notifications/sms/callback`)).status).toBe(401); // X-Project-Id differs
    const own = await call(emu.url, 'GET', `/v2/${other}/notifications/sms/callback`, { sign: false, headers: { 'X-Auth-Token': token } });
    expect(own.status).toBe(200);
  });

  it('refuses a token it never issued', async () => {
    const res = await withToken(emu.url, 'MIIforged');
    expect(res.status).toBe(401);
    expect(res.json.error_msg).toBe('Incorrect IAM authentication information: decrypt token fail');
  });

  it('refuses every token after DELETE /_emulator/tokens', async () => {
    const token = (await issue(emu.url, tokenRequest({ id: PID }))).headers['x-subject-token'] as string;
    expect((await call(emu.url, 'DELETE', '/_emulator/tokens', { sign: false })).status).toBe(204);
    expect((await withToken(emu.url, token)).status).toBe(401);
  });

  it('leaves the catalog out for any non-empty nocatalog, "false" included', async () => {
    expect((await issue(emu.url, tokenRequest({ id: PID }))).json.token.catalog).toEqual([]);
    expect((await call(emu.url, 'POST', '/v3/auth/tokens?nocatalog=', { body: tokenRequest({ id: PID }), sign: false })).json.token.catalog).toEqual([]);
    for (const value of ['true', 'false', '1']) {
      const res = await call(emu.url, 'POST', `/v3/auth/tokens?nocatalog=${value}`, { body: tokenRequest({ id: PID }), sign: false });
      expect(res.status).toBe(201);
      expect(res.json.token).not.toHaveProperty('catalog');
      expect(res.json.token.project).toMatchObject({ id: PID });
    }
  });

  describe('scoped to a domain', () => {
    const domainRequest = (domain: object) => {
      const { identity } = tokenRequest({ id: PID }).auth;
      return { auth: { identity, scope: { domain } } };
    };
    const domainToken = async () => (await issue(emu.url, domainRequest({ name: DEMO_IAM_USER.domain }))).headers['x-subject-token'] as string;

    it('issues a global token, with the domain and without a project', async () => {
      const res = await issue(emu.url, domainRequest({ name: DEMO_IAM_USER.domain }));
      expect(res.status).toBe(201);
      expect(res.headers['x-subject-token']).toEqual(expect.any(String));
      expect(res.json.token).toEqual({
        methods: ['password'],
        issued_at: expect.any(String),
        expires_at: expect.any(String),
        user: { id: expect.stringMatching(HEX32), name: DEMO_IAM_USER.name, domain: { id: expect.stringMatching(HEX32), name: DEMO_IAM_USER.domain } },
        domain: { id: res.json.token.user.domain.id, name: DEMO_IAM_USER.domain },
        roles: expect.any(Array),
        catalog: [],
      });
      const byId = await issue(emu.url, domainRequest({ id: res.json.token.domain.id }));
      expect(byId.status).toBe(201);
      expect(byId.json.token.domain).toEqual(res.json.token.domain);
    });

    it("refuses a domain that is not the user's own, by name or by id", async () => {
      for (const domain of [{ name: 'another-account' }, { id: 'a'.repeat(32) }]) {
        const res = await issue(emu.url, domainRequest(domain));
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ error: { code: 401, message: 'The domain does not exist or is not accessible.', title: 'Unauthorized' } });
      }
    });

    it('scopes to the project when both are named, as IAM does', async () => {
      const body = tokenRequest({ id: PID });
      const res = await issue(emu.url, { auth: { ...body.auth, scope: { project: { id: PID }, domain: { name: DEMO_IAM_USER.domain } } } });
      expect(res.status).toBe(201);
      expect(res.json.token.project).toMatchObject({ id: PID });
      expect(res.json.token).not.toHaveProperty('domain');
      expect((await withToken(emu.url, res.headers['x-subject-token'] as string)).status).toBe(200);
    });

    it('answers a scope that names neither with 400', async () => {
      const res = await issue(emu.url, domainRequest({}));
      expect(res.status).toBe(400);
      const none = await issue(emu.url, { auth: { ...tokenRequest({ id: PID }).auth, scope: {} } });
      expect(none.json.error).toMatchObject({ code: 400, message: 'The request body is invalid: the scope names no project or domain.' });
    });

    it("does not let a domain-scoped token call a project's SMN API: 403 APIGW.0302", async () => {
      const res = await withToken(emu.url, await domainToken());
      expect(res.status).toBe(403);
      expect(res.json).toEqual({
        error_code: 'APIGW.0302',
        error_msg: 'The IAM user is not authorized to access the API.',
        request_id: res.headers['x-request-id'],
      });
      const put = await call(emu.url, 'PUT', PATH, {
        sign: false,
        body: { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] },
        headers: { 'X-Auth-Token': await domainToken() },
      });
      expect(put.status).toBe(403);
      expect(emu.state.requestLog.list().at(-1)).toMatchObject({ status: 403, error_code: 'APIGW.0302' });
    });

    it('lets a domain-scoped token list the projects, IAM being a global service', async () => {
      const res = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4', { sign: false, headers: { 'X-Auth-Token': await domainToken() } });
      expect(res.status).toBe(200);
      expect(res.json.projects).toEqual([expect.objectContaining({ id: PID, name: 'cn-north-4' })]);
    });
  });
});

describe('SMN emulator: IAM project lookup, GET /v3/projects', () => {
  let emu: RunningEmulator;
  const EU_PID = 'e'.repeat(32);

  beforeAll(async () => {
    emu = await startEmulator({
      credentials: [DEMO_CREDENTIALS, { ak: 'OTHERACCOUNTKEY', sk: 'other-secret', domain: 'other-account' }],
      projects: [
        { projectId: PID, region: 'cn-north-4', topics: [] },
        { projectId: 'c'.repeat(32), region: 'cn-north-4', topics: [] },
        { projectId: EU_PID, region: 'eu-west-0', topics: [] },
      ],
    });
  });
  afterAll(() => emu.close());

  const project = (id: string, name: string, domainId: string) => ({
    id,
    name,
    domain_id: domainId,
    parent_id: domainId,
    is_domain: false,
    enabled: true,
    description: '',
    links: { self: `${emu.url}/v3/projects/${id}` },
  });

  it("lists the project named after the region, signed like an SMN call, in Keystone's shape", async () => {
    const res = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const domainId = res.json.projects[0]?.domain_id;
    expect(domainId).toMatch(HEX32);
    // An account has one project per name, so the first project of the region is the one listed.
    expect(res.json).toEqual({
      projects: [project(PID, 'cn-north-4', domainId)],
      links: { self: `${emu.url}/v3/projects?name=cn-north-4`, previous: null, next: null },
    });
    expect(emu.state.requestLog.list().at(-1)).toMatchObject({ status: 200, auth: { mode: 'aksk', access_key: DEMO_CREDENTIALS.ak } });
  });

  it("reports the domain of the key's account, the same id the account's tokens carry", async () => {
    const token = await call(emu.url, 'POST', '/v3/auth/tokens', {
      sign: false,
      body: {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: DEMO_IAM_USER.name, password: DEMO_IAM_USER.password, domain: { name: DEMO_IAM_USER.domain } } },
          },
          scope: { project: { name: 'cn-north-4' } },
        },
      },
    });
    const listed = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4');
    expect(listed.json.projects[0].domain_id).toBe(token.json.token.project.domain.id);
    expect(token.json.token.project.id).toBe(listed.json.projects[0].id);

    const other = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4', { sign: { ak: 'OTHERACCOUNTKEY', sk: 'other-secret' } });
    expect(other.json.projects[0].domain_id).toMatch(HEX32);
    expect(other.json.projects[0].domain_id).not.toBe(listed.json.projects[0].domain_id);
  });

  it('answers a name no project has with an empty list', async () => {
    const res = await call(emu.url, 'GET', '/v3/projects?name=ap-southeast-1');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      projects: [],
      links: { self: `${emu.url}/v3/projects?name=ap-southeast-1`, previous: null, next: null },
    });
    expect((await call(emu.url, 'GET', '/v3/projects?name=cn-north-4&name=eu-west-0')).json.projects).toEqual([]);
  });

  it('lists one project per region without a name filter', async () => {
    const res = await call(emu.url, 'GET', '/v3/projects');
    expect(res.json.projects.map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([
      [PID, 'cn-north-4'],
      [EU_PID, 'eu-west-0'],
    ]);
  });

  it('lists a project an admin call created in a new region', async () => {
    const id = 'd'.repeat(32);
    await call(emu.url, 'POST', '/_emulator/topics', { sign: false, body: { project_id: id, name: 't', region: 'la-south-2' } });
    try {
      expect((await call(emu.url, 'GET', '/v3/projects?name=la-south-2')).json.projects).toEqual([expect.objectContaining({ id })]);
    } finally {
      emu.state.reset();
    }
  });

  it('is behind the gateway like SMN: no, bad or unknown credentials get 401 APIGW.0301', async () => {
    const unsigned = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4', { sign: false });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json).toEqual({
      error_code: 'APIGW.0301',
      error_msg: 'Incorrect IAM authentication information: Authorization not found',
      request_id: unsigned.headers['x-request-id'],
    });
    const wrong = await call(emu.url, 'GET', '/v3/projects?name=cn-north-4', { sign: { ak: DEMO_CREDENTIALS.ak, sk: 'wrong' } });
    expect(wrong.json.error_msg).toBe('Incorrect IAM authentication information: verify aksk signature fail');
    const unknown = await call(emu.url, 'GET', '/v3/projects', { sign: { ak: 'NOSUCHKEY', sk: 'x' } });
    expect(unknown.json.error_msg).toBe('Incorrect IAM authentication information: ak NOSUCHKEY not exist');
    // The wrong signature above counted towards the key's lockout; start the next tests clean.
    emu.state.reset();
  });
});

describe('SMN emulator: the gateway locks an access key after repeated bad signatures', () => {
  let emu: RunningEmulator;
  let nowMs: number;
  const MINUTE = 60_000;
  const LOCKED = 'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.';
  const BAD_SIGNATURE = 'Incorrect IAM authentication information: verify aksk signature fail';

  /** Signed at the emulator's current time, with the right secret or a wrong one. */
  const signed = (sk: string = DEMO_CREDENTIALS.sk, ak: string = DEMO_CREDENTIALS.ak) => ({ sign: { ak, sk, date: new Date(nowMs) } });
  const get = (path = PATH, options: CallOptions = signed()) => call(emu.url, 'GET', path, options);
  const failTimes = async (n: number) => {
    for (let i = 0; i < n; i++) expect((await get(PATH, signed('wrong'))).json.error_msg).toBe(BAD_SIGNATURE);
  };

  beforeAll(async () => {
    emu = await startEmulator({ credentials: [DEMO_CREDENTIALS, { ak: 'SECONDKEY', sk: 'second-secret' }], clock: () => nowMs });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    nowMs = Date.now();
    emu.state.reset();
  });

  it('refuses even a correct signature after a sixth bad one in a row, with 401 APIGW.0301', async () => {
    await failTimes(5);
    expect((await get()).status).toBe(200); // five are tolerated...
    await failTimes(6); // ...the sixth in a row still answers as a bad signature, and locks the key
    const res = await get();
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error_code: 'APIGW.0301', error_msg: LOCKED, request_id: res.headers['x-request-id'] });
    expect(emu.state.requestLog.list().at(-1)).toMatchObject({ status: 401, error_code: 'APIGW.0301' });
    // Every API behind the gateway, IAM's included, and every method.
    expect((await get('/v3/projects?name=cn-north-4')).json.error_msg).toBe(LOCKED);
    const put = await call(emu.url, 'PUT', PATH, { ...signed(), body: { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] } });
    expect(put.json.error_msg).toBe(LOCKED);
  });

  it('unlocks the key five minutes after the failure that locked it, not sooner', async () => {
    await failTimes(6);
    const lockedAt = nowMs;
    nowMs = lockedAt + 5 * MINUTE - 1;
    expect((await get()).json.error_msg).toBe(LOCKED);
    nowMs = lockedAt + 5 * MINUTE;
    expect((await get()).status).toBe(200);
  });

  it('does not extend the lock for requests made during it', async () => {
    await failTimes(6);
    const lockedAt = nowMs;
    nowMs = lockedAt + 4 * MINUTE;
    for (let i = 0; i < 3; i++) expect((await get(PATH, signed('wrong'))).json.error_msg).toBe(LOCKED);
    nowMs = lockedAt + 5 * MINUTE;
    expect((await get()).status).toBe(200);
    // And the key starts afresh: five more bad signatures are tolerated again.
    await failTimes(5);
    expect((await get()).status).toBe(200);
  });

  it('counts failures in a row only: a good signature in between resets the count', async () => {
    await failTimes(5);
    expect((await get()).status).toBe(200);
    await failTimes(5);
    expect((await get()).status).toBe(200);
  });

  it('locks only the key that failed; other keys and tokens carry on', async () => {
    await failTimes(6);
    expect((await get(PATH, signed('second-secret', 'SECONDKEY'))).status).toBe(200);
    const issued = await call(emu.url, 'POST', '/v3/auth/tokens', {
      sign: false,
      body: {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: DEMO_IAM_USER.name, password: DEMO_IAM_USER.password, domain: { name: DEMO_IAM_USER.domain } } },
          },
          scope: { project: { id: PID } },
        },
      },
    });
    const token = issued.headers['x-subject-token'] as string;
    expect((await get(PATH, { sign: false, headers: { 'X-Auth-Token': token } })).status).toBe(200);
    expect((await get()).json.error_msg).toBe(LOCKED);
  });

  it('counts no refusal that comes before the signature is checked', async () => {
    for (let i = 0; i < 10; i++) {
      const expired = await get(PATH, { sign: { ...DEMO_CREDENTIALS, date: new Date(nowMs - 16 * MINUTE) } });
      expect(expired.json.error_msg).toMatch(/signature expired/);
    }
    expect((await get()).status).toBe(200);
    expect(emu.state.lockout.list(nowMs)).toEqual([]);
  });

  it('is cleared by POST /_emulator/reset and by DELETE /_emulator/lockouts, and shown by GET', async () => {
    await failTimes(6);
    const shown = await call(emu.url, 'GET', '/_emulator/lockouts', { sign: false });
    expect(shown.json).toEqual({
      lockouts: [{ access_key: DEMO_CREDENTIALS.ak, consecutive_failures: 6, locked_until: new Date(nowMs + 5 * MINUTE).toISOString() }],
    });
    expect((await call(emu.url, 'POST', '/_emulator/reset', { sign: false })).status).toBe(204);
    expect((await get()).status).toBe(200);

    await failTimes(6);
    expect((await call(emu.url, 'DELETE', '/_emulator/lockouts', { sign: false })).status).toBe(204);
    expect((await get()).status).toBe(200);
    expect((await call(emu.url, 'GET', '/_emulator/lockouts', { sign: false })).json).toEqual({ lockouts: [] });
  });

  it('uses the injected clock for the signature window too', async () => {
    nowMs = Date.now() + 60 * MINUTE;
    expect((await get(PATH, { sign: { ...DEMO_CREDENTIALS, date: new Date() } })).json.error_msg).toMatch(/signature expired/);
    expect((await get()).status).toBe(200);
  });
});
