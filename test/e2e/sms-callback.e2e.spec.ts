import { CALLBACK_PATH, DEV_KEY, Harness, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';

describe('SMS callbacks end to end (BFF ↔ emulator over HTTP)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => resetEmulator(h.emulator));

  it('applies the seed example, then lists the three callbacks', async () => {
    const put = await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    expect(put.body).toEqual({ request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });

    const get = await h.api.get(CALLBACK_PATH).expect(200);
    expect(get.body.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(sortByType(get.body.callback)).toEqual(sortByType(SEED_BODY.callback));
  });

  it('removes a callback when its topic_urn is ""', async () => {
    await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    await h.api
      .put(CALLBACK_PATH)
      .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] })
      .expect(200);
    const get = await h.api.get(CALLBACK_PATH).expect(200);
    expect(get.body.callback.map((c: { event_type: string }) => c.event_type).sort()).toEqual(['sms_reply_event', 'sms_success_event']);
  });

  it('filters by event_type and lists [] when nothing is configured', async () => {
    expect((await h.api.get(CALLBACK_PATH).expect(200)).body.callback).toEqual([]);
    await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    const get = await h.api.get(`${CALLBACK_PATH}?event_type=sms_reply_event`).expect(200);
    expect(get.body.callback).toEqual([{ event_type: 'sms_reply_event', topic_urn: urn('test_reply') }]);
  });

  it.each([
    ['sms_fail_event', 'SMN.0141'],
    ['sms_success_event', 'SMN.0143'],
    ['sms_reply_event', 'SMN.0145'],
  ])('passes through SMN topic-not-found for %s as %s', async (eventType, code) => {
    const res = await h.api
      .put(CALLBACK_PATH)
      .send({ callback: [{ event_type: eventType, topic_urn: urn('no_such_topic') }] })
      .expect(400);
    expect(res.body).toMatchObject({ code, upstream: { status: 400, code } });
    expect(res.body.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.request_id).toBe(res.body.upstream.request_id);
  });

  it.each(['SMN.0100', 'SMN.0140', 'SMN.0142', 'SMN.0144'])('passes through %s answered by SMN', async (code) => {
    await injectFault(h.emulator, { kind: 'status', status: 400, style: 'smn', code, message: 'from SMN', count: 1 });
    const res = await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(400);
    expect(res.body).toMatchObject({ code, message: 'from SMN', upstream: { status: 400, code } });
  });

  it("answers 502 BFF.UPSTREAM_AUTH_FAILED when SMN cannot verify the BFF's signature", async () => {
    const wrong = await startHarness({ SMN_SECRET_KEY: 'not-the-secret' });
    try {
      const res = await wrong.api.put(CALLBACK_PATH).send(SEED_BODY).expect(502);
      expect(res.body).toMatchObject({ code: 'BFF.UPSTREAM_AUTH_FAILED', upstream: { status: 401, code: 'APIGW.0301' } });
    } finally {
      await wrong.close();
    }
  });

  it('answers 502 BFF.UPSTREAM_UNAVAILABLE when SMN cannot be reached', async () => {
    const dead = await startHarness({ SMN_ENDPOINTS: 'cn-north-4=http://127.0.0.1:9' });
    try {
      const res = await dead.api.get(CALLBACK_PATH).expect(502);
      expect(res.body).toMatchObject({ code: 'BFF.UPSTREAM_UNAVAILABLE' });
      expect(res.body.upstream).toBeUndefined();
    } finally {
      await dead.close();
    }
  });

  it('answers 404 BFF.PROJECT_NOT_FOUND for a project it does not serve, without calling SMN', async () => {
    const other = '0123456789abcdef0123456789abcdef';
    const res = await h.api.get(`/v2/${other}/notifications/sms/callback`).expect(404);
    expect(res.body).toMatchObject({ code: 'BFF.PROJECT_NOT_FOUND' });
    expect(await emulatorRequests(h.emulator)).toHaveLength(0);
  });

  it('carries the request id from the caller through the BFF to SMN and back', async () => {
    const res = await h.api.put(CALLBACK_PATH).set('X-Request-Id', 'trace-42.a').send(SEED_BODY).expect(200);
    expect(res.headers['x-request-id']).toBe('trace-42.a');
    const [forwarded] = await emulatorRequests(h.emulator);
    expect(forwarded.headers['x-request-id']).toBe('trace-42.a');
    expect(h.logs.some((line) => line.reqId === 'trace-42.a' && line.msg === 'request' && line.status === 200)).toBe(true);
  });

  it('replaces an insane request id with its own', async () => {
    const res = await h.api.get(CALLBACK_PATH).set('X-Request-Id', 'bad id with spaces and <html>').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it("never forwards the caller's credentials: SMN sees only allow-listed headers, signed with the BFF's own key", async () => {
    await h.api.put(CALLBACK_PATH).set('Cookie', 'session=secret').set('X-Custom', 'x').send(SEED_BODY).expect(200);
    // A bearer token is refused here (no JWT configured) but must not travel either.
    await h.api.get(CALLBACK_PATH).set('Authorization', 'Bearer caller-token').expect(401);
    const forwarded = await emulatorRequests(h.emulator);
    expect(forwarded.length).toBeGreaterThan(0);
    for (const { headers } of forwarded) {
      expect(Object.keys(headers).sort()).toEqual(expect.not.arrayContaining(['cookie', 'x-custom', 'x-api-key', 'x-auth-token', 'x-forwarded-for']));
      expect(JSON.stringify(headers)).not.toContain(DEV_KEY);
      expect(JSON.stringify(headers)).not.toContain('caller-token');
      expect(headers.authorization).toMatch(/^SDK-HMAC-SHA256 Access=/);
    }
  });

  it('serves health, the spec and Swagger UI', async () => {
    await h.api.get('/health/live').expect(200);
    expect((await h.api.get('/health/ready').expect(200)).body.status).toBe('ok');
    const spec = await h.api.get('/docs-json').expect(200);
    expect(Object.keys(spec.body.paths)).toContain('/v2/{project_id}/notifications/sms/callback');
    await h.api.get('/docs').expect(200);
  });

  it('exposes Prometheus metrics by route template, upstream operation and circuit', async () => {
    await h.api.put(CALLBACK_PATH).send(SEED_BODY).expect(200);
    await h.api
      .put(CALLBACK_PATH)
      .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('missing') }] })
      .expect(400);
    // On the metrics listener, not the public port (which answers 404 in the envelope).
    await h.api.get('/metrics').expect(404, /BFF\.NOT_FOUND/);
    const res = { text: await h.scrape() };
    expect(res.text).toMatch(/http_request_duration_seconds_count\{method="PUT",route="\/v2\/:project_id\/notifications\/sms\/callback",status="200"\} [1-9]/);
    expect(res.text).toMatch(/smn_request_duration_seconds_count\{operation="updateSmsCallbacks",outcome="ok"\} [1-9]/);
    expect(res.text).toMatch(/smn_request_duration_seconds_count\{operation="updateSmsCallbacks",outcome="SMN.0141"\} [1-9]/);
    expect(res.text).toMatch(/smn_circuit_state\{endpoint="http:\/\/127.0.0.1:\d+"\} 0/);
    expect(res.text).toMatch(/audit_write_duration_seconds_count\{operation="finalize"\} [1-9]/);
    expect(res.text).toContain('process_cpu_seconds_total');
  });

  it('answers unknown routes with the envelope', async () => {
    const res = await h.api.get('/nope').expect(404);
    expect(res.body).toMatchObject({ code: 'BFF.NOT_FOUND', request_id: res.headers['x-request-id'] });
  });
});

function sortByType<T extends { event_type: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.event_type.localeCompare(b.event_type));
}
