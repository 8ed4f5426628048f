import { request } from 'undici';
import { DEMO_IAM_USER, DEMO_PROJECT_ID, RunningEmulator, startEmulator } from './emulator';
import { RequestLog, RequestLogEntry } from './emulator-state';

/** The admin API under /_emulator/. SMN calls authenticate with an IAM token, so no signer is needed. */

const PATH = `/v2/${DEMO_PROJECT_ID}/notifications/sms/callback`;
const OTHER = 'e'.repeat(32);

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(new URL(path, base), {
    method: method as 'GET',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

describe('admin API', () => {
  let emu: RunningEmulator;
  let token: string;
  const admin = (method: string, path: string, body?: unknown) => call(emu.url, method, `/_emulator${path}`, body);
  const smn = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(emu.url, method, path, body, { 'x-auth-token': token, ...headers });

  beforeAll(async () => {
    emu = await startEmulator();
    const issued = await call(emu.url, 'POST', '/v3/auth/tokens', {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: DEMO_IAM_USER.name, password: DEMO_IAM_USER.password, domain: { name: DEMO_IAM_USER.domain } } },
        },
        scope: { project: { id: DEMO_PROJECT_ID } },
      },
    });
    token = issued.headers['x-subject-token'] as string;
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.state.reset());

  it('answers health checks', async () => {
    expect(await admin('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('lists the seeded topics, optionally for one project', async () => {
    const all = await admin('GET', '/topics');
    expect(all.body.topics.map((t: { name: string }) => t.name).sort()).toEqual(['test_fail', 'test_reply', 'test_success']);
    expect(all.body.topics[0]).toEqual({
      project_id: DEMO_PROJECT_ID,
      region: 'cn-north-4',
      name: all.body.topics[0].name,
      urn: `urn:smn:cn-north-4:${DEMO_PROJECT_ID}:${all.body.topics[0].name}`,
    });
    expect((await admin('GET', `/topics?project_id=${OTHER}`)).body).toEqual({ topics: [] });
  });

  it('adds a topic that a PUT can then use', async () => {
    const urn = `urn:smn:cn-north-4:${DEMO_PROJECT_ID}:alerts`;
    const event = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn }] };
    expect((await smn('PUT', PATH, event)).body.code).toBe('SMN.0141');

    const added = await admin('POST', '/topics', { project_id: DEMO_PROJECT_ID, name: 'alerts' });
    expect(added).toMatchObject({ status: 201, body: { project_id: DEMO_PROJECT_ID, region: 'cn-north-4', name: 'alerts', urn } });
    expect((await admin('POST', '/topics', { project_id: DEMO_PROJECT_ID, name: 'alerts' })).status).toBe(200);

    expect((await smn('PUT', PATH, event)).status).toBe(200);
    expect((await smn('GET', PATH)).body.callback).toEqual([{ event_type: 'sms_fail_event', topic_urn: urn }]);
  });

  it('creates a project with its first topic, in a region of choice', async () => {
    const added = await admin('POST', '/topics', { project_id: OTHER, name: 'eu_topic', region: 'eu-west-0' });
    expect(added.body.urn).toBe(`urn:smn:eu-west-0:${OTHER}:eu_topic`);
    expect((await admin('GET', `/state/${OTHER}`)).body).toMatchObject({ project_id: OTHER, region: 'eu-west-0' });
    const conflict = await admin('POST', '/topics', { project_id: OTHER, name: 'x', region: 'cn-north-4' });
    expect(conflict.status).toBe(409);
  });

  it.each([
    ['a bad project id', { project_id: 'nope', name: 'x' }, 'project_id'],
    ['a bad topic name', { project_id: DEMO_PROJECT_ID, name: '-x' }, 'name'],
    ['no name', { project_id: DEMO_PROJECT_ID }, 'name'],
  ])('refuses a topic with %s', async (_name, body, path) => {
    const res = await admin('POST', '/topics', body);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([expect.objectContaining({ path })]);
  });

  it('shows the state of a project', async () => {
    const urn = `urn:smn:cn-north-4:${DEMO_PROJECT_ID}:test_reply`;
    await smn('PUT', PATH, { callback: [{ event_type: 'sms_reply_event', topic_urn: urn }] });
    const state = await admin('GET', `/state/${DEMO_PROJECT_ID}`);
    expect(state.body).toMatchObject({
      project_id: DEMO_PROJECT_ID,
      region: 'cn-north-4',
      callback: [{ event_type: 'sms_reply_event', topic_urn: urn }],
    });
    expect(state.body.topics).toHaveLength(3);
  });

  it('resets to the seed: callbacks, added topics, faults and the request log', async () => {
    await admin('POST', '/topics', { project_id: DEMO_PROJECT_ID, name: 'extra' });
    const urn = `urn:smn:cn-north-4:${DEMO_PROJECT_ID}:extra`;
    await smn('PUT', PATH, { callback: [{ event_type: 'sms_reply_event', topic_urn: urn }] });
    await admin('POST', '/faults', { kind: 'reset', count: 10 });

    expect((await admin('POST', '/reset')).status).toBe(204);

    expect((await admin('GET', '/faults')).body).toEqual({ faults: [] });
    expect((await admin('GET', '/requests')).body).toEqual({ requests: [] });
    expect((await admin('GET', `/state/${DEMO_PROJECT_ID}`)).body).toMatchObject({ callback: [] });
    expect((await admin('GET', '/topics')).body.topics).toHaveLength(3);
    // IAM tokens survive a reset, as a client's cached token would on a real IAM.
    expect((await smn('GET', PATH)).status).toBe(200);
  });

  it('logs every /v2 and /v3 request with all its headers, as received', async () => {
    const body = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] };
    const put = await smn('PUT', `${PATH}?trace=1`, body, { 'X-Request-Id': 'bff-correlation-1', 'X-Custom': 'kept' });
    await admin('GET', '/topics');

    const { requests } = (await admin('GET', '/requests')).body as { requests: RequestLogEntry[] };
    expect(requests).toHaveLength(1);
    expect(requests[0]).toEqual({
      seq: expect.any(Number),
      request_id: put.body.request_id,
      caller_request_id: 'bff-correlation-1',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      method: 'PUT',
      url: `${PATH}?trace=1`,
      path: PATH,
      query: { trace: '1' },
      headers: expect.objectContaining({
        'x-request-id': 'bff-correlation-1',
        'x-custom': 'kept',
        'x-auth-token': token,
        'content-type': 'application/json',
        host: new URL(emu.url).host,
      }),
      body: JSON.stringify(body),
      auth: { mode: 'token', user: 'demo-user' },
      status: 200,
      error_code: null,
      duration_ms: expect.any(Number),
      fault: null,
    });
    expect(requests[0].headers).not.toHaveProperty('authorization');
  });

  it('logs the error code of a refused request', async () => {
    await call(emu.url, 'GET', PATH);
    await smn('GET', `${PATH}?event_type=bad`);
    const { requests } = (await admin('GET', '/requests')).body as { requests: RequestLogEntry[] };
    expect(requests.map((r) => [r.status, r.error_code])).toEqual([
      [401, 'APIGW.0301'],
      [400, 'SMN.0100'],
    ]);
  });

  it('returns the newest entries with ?limit, and forgets them all on DELETE', async () => {
    for (let i = 0; i < 3; i++) await smn('GET', `${PATH}?n=${i}`);
    const limited = (await admin('GET', '/requests?limit=2')).body.requests as RequestLogEntry[];
    expect(limited.map((r) => r.query)).toEqual([{ n: '1' }, { n: '2' }]);
    expect((await admin('DELETE', '/requests')).status).toBe(204);
    expect((await admin('GET', '/requests')).body).toEqual({ requests: [] });
  });

  it('answers unknown admin paths with 404', async () => {
    expect((await admin('GET', '/nope')).status).toBe(404);
  });
});

describe('RequestLog', () => {
  const entry = (n: number) => ({ request_id: String(n) }) as RequestLogEntry;

  it('keeps only the newest entries, oldest first', () => {
    const log = new RequestLog(3);
    for (let i = 1; i <= 5; i++) log.add(entry(i));
    expect(log.list().map((e) => [e.seq, e.request_id])).toEqual([
      [3, '3'],
      [4, '4'],
      [5, '5'],
    ]);
    expect(log.list(2).map((e) => e.request_id)).toEqual(['4', '5']);
    log.clear();
    expect(log.list()).toEqual([]);
  });
});
