import fc from 'fast-check';
import request from 'supertest';
import { CALLBACK_PATH, Harness, PROJECT_ID, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { emulatorRequests, resetEmulator } from '../support/emulator-admin';

/**
 * Every rule of the API (README, PUT rules), each rejected with 400 and a field-level error, and never
 * forwarded: with SMN's own code for SMN's own rules (README, Errors), `BFF.VALIDATION_FAILED` for the rest.
 */
describe('input validation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOG_LEVEL: 'warn' });
  });
  afterAll(() => h.close());
  beforeEach(() => resetEmulator(h.emulator));
  afterEach(async () => {
    expect((await emulatorRequests(h.emulator)).filter((r) => r.method === 'PUT')).toHaveLength(0);
  });

  const put = (body: unknown) => h.api.put(CALLBACK_PATH).set('Content-Type', 'application/json').send(JSON.stringify(body));
  const item = (event_type: unknown, topic_urn: unknown) => ({ event_type, topic_urn });

  async function expectInvalid(res: request.Test, field: string, code = 'BFF.VALIDATION_FAILED') {
    const { body } = await res.expect(400);
    expect(body.code).toBe(code);
    expect(body.request_id).toEqual(expect.any(String));
    expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
    return body;
  }

  it('requires callback', () => expectInvalid(put({}), 'callback'));
  it('requires callback to be an array', () => expectInvalid(put({ callback: 'x' }), 'callback'));
  it('rejects an empty list', () => expectInvalid(put({ callback: [] }), 'callback'));
  it('rejects more than three items', () => expectInvalid(put({ callback: [...SEED_BODY.callback, item('sms_fail_event', '')] }), 'callback'));
  it('rejects a repeated event_type', () =>
    expectInvalid(put({ callback: [item('sms_fail_event', ''), item('sms_fail_event', urn('test_fail'))] }), 'callback'));
  it('rejects an unknown event_type', () => expectInvalid(put({ callback: [item('sms_other_event', '')] }), 'callback[0].event_type', 'SMN.0100'));
  it('rejects event_type of the wrong case', () => expectInvalid(put({ callback: [item('SMS_FAIL_EVENT', '')] }), 'callback[0].event_type', 'SMN.0100'));
  it('rejects a non-string topic_urn', () => expectInvalid(put({ callback: [item('sms_fail_event', 5)] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('rejects a missing topic_urn', () => expectInvalid(put({ callback: [{ event_type: 'sms_fail_event' }] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('rejects a malformed topic_urn', () =>
    expectInvalid(put({ callback: [item('sms_fail_event', 'urn:smn:cn-north-4:nothex:topic')] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('rejects a topic name starting with "-"', () =>
    expectInvalid(put({ callback: [item('sms_fail_event', urn('-topic'))] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('rejects a topic name of 257 characters', () =>
    expectInvalid(put({ callback: [item('sms_fail_event', urn('t'.repeat(257)))] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('accepts a topic name of 256 characters as far as validation goes (SMN decides whether it exists)', async () => {
    const res = await put({ callback: [item('sms_fail_event', urn('t'.repeat(256)))] });
    expect(res.body.code).toBe('SMN.0141');
    await resetEmulator(h.emulator); // the afterEach check is about invalid input only
  });
  it('rejects a topic of another project', async () => {
    const body = await expectInvalid(
      put({ callback: [item('sms_fail_event', urn('test_fail', '0123456789abcdef0123456789abcdef'))] }),
      'callback[0].topic_urn',
      'SMN.0140',
    );
    expect(body.errors[0].message).toContain(PROJECT_ID);
  });
  it('rejects a topic of another region', () =>
    expectInvalid(put({ callback: [item('sms_fail_event', urn('test_fail', PROJECT_ID, 'eu-west-0'))] }), 'callback[0].topic_urn', 'SMN.0140'));
  it('rejects unknown properties at the top level', () => expectInvalid(put({ ...SEED_BODY, extra: 1 }), 'extra'));
  it('rejects unknown properties in an item', () => expectInvalid(put({ callback: [{ ...item('sms_fail_event', ''), priority: 1 }] }), 'callback[0].priority'));
  it('rejects a body that is an array', () => expectInvalid(put([SEED_BODY]), 'body'));
  it('rejects a body that is null', () => expectInvalid(put(null), 'body'));
  it('rejects a project id that is not 32 lowercase hex', () =>
    expectInvalid(h.api.put('/v2/F96188C7CCAF4FFBA0C9AA149AB2BD57/notifications/sms/callback').send(SEED_BODY), 'project_id'));
  it('rejects an unknown event_type filter', () => expectInvalid(h.api.get(`${CALLBACK_PATH}?event_type=nope`), 'event_type', 'SMN.0100'));
  it('rejects unknown query parameters', () => expectInvalid(h.api.get(`${CALLBACK_PATH}?foo=1`), 'foo'));

  it('rejects malformed JSON with 400', async () => {
    const res = await h.api.put(CALLBACK_PATH).set('Content-Type', 'application/json').send('{"callback": [').expect(400);
    expect(res.body.code).toBe('BFF.VALIDATION_FAILED');
  });
  it('rejects prototype poisoning with 400', async () => {
    const res = await h.api.put(CALLBACK_PATH).set('Content-Type', 'application/json').send('{"callback":[],"__proto__":{"polluted":true}}').expect(400);
    expect(res.body.code).toBe('BFF.VALIDATION_FAILED');
  });
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers 415 for %s', async (type) => {
    const res = await h.api.put(CALLBACK_PATH).set('Content-Type', type).send('callback=x').expect(415);
    expect(res.body.code).toBe('BFF.UNSUPPORTED_MEDIA_TYPE');
  });
  it('answers 413 for a body over 64 KiB', async () => {
    const big = { callback: [item('sms_fail_event', '')], pad: 'x'.repeat(70 * 1024) };
    const res = await put(big).expect(413);
    expect(res.body.code).toBe('BFF.PAYLOAD_TOO_LARGE');
  });
  it('answers 400 for an empty body', async () => {
    const res = await h.api.put(CALLBACK_PATH).set('Content-Type', 'application/json').send('').expect(400);
    expect(res.body.code).toBe('BFF.VALIDATION_FAILED');
  });

  // The same shapes as src/common/validation.properties.spec.ts, which runs thousands against the pipe itself;
  // here a sample end to end, through the parser, the guards, the filter and the audit.
  it('never answers 5xx nor calls SMN for 150 random malformed requests', async () => {
    const junk = fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constant(null));
    const badItem = fc.oneof(
      fc.record({ event_type: junk, topic_urn: junk }, { requiredKeys: [] }),
      // Real event types with topic URNs that are never valid (a random string does not form a URN).
      fc.record({ event_type: fc.constantFrom('sms_fail_event', 'sms_reply_event'), topic_urn: fc.string({ minLength: 1 }) }),
      fc.dictionary(fc.string(), junk),
    );
    const body = fc.oneof(fc.record({ callback: fc.array(badItem, { maxLength: 5 }) }), fc.record({ callback: junk }), fc.dictionary(fc.string(), junk), junk);
    const projectId = fc.oneof(fc.constant(PROJECT_ID), fc.string({ minLength: 1, maxLength: 40 }), fc.stringMatching(/^[0-9a-f]{32}$/));
    await fc.assert(
      fc.asyncProperty(body, projectId, async (payload, project) => {
        const path = `/v2/${encodeURIComponent(project)}/notifications/sms/callback`;
        const res = await h.api
          .put(path)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(payload) ?? 'null');
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        // SMN's own rules answer as SMN (its event type and invalid-URN codes); everything else is the BFF's.
        expect(res.body.code).toMatch(/^(BFF\.[A-Z_]+|SMN\.0100|SMN\.014[024])$/);
      }),
      { numRuns: 150 },
    );
    // afterEach asserts that SMN saw no PUT.
  });
});
