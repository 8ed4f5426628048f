import { configurationEtag } from '../../src/sms-callback/configuration-etag';
import {
  callbackPath,
  ContractApp,
  expectEnvelope,
  newRequestId,
  PROJECT_ID,
  SEED_BODY,
  startContractApp,
  UNSERVED_PROJECT_ID,
  urn,
} from './support/contract-app';

const item = <E, T>(event_type: E, topic_urn: T) => ({ event_type, topic_urn });
/** SMN's messages, verbatim (docs/upstream-smn.md §5), written out here rather than taken from the code under test. */
const SMN_MESSAGES: Record<string, string> = {
  'SMN.0100': 'The eventType parameter is invalid.',
  'SMN.0140': 'The topic URN configured for the message sending failure event is invalid.',
  'SMN.0142': 'The topic URN configured for the message sending success event is invalid.',
  'SMN.0144': 'The topic URN configured for the response message event is invalid.',
};
const byType = <T extends { event_type: string }>(items: T[]) => [...items].sort((a, b) => a.event_type.localeCompare(b.event_type));

/** The GET/PUT contract of `/v2/{project_id}/notifications/sms/callback` over the real pipeline and fake SMN. */
describe('SMS callback API contract', () => {
  let c: ContractApp;

  beforeAll(async () => {
    c = await startContractApp();
  });
  afterAll(() => c.close());
  beforeEach(() => {
    c.smn.reset();
    c.smn.setConfiguration(PROJECT_ID, []);
  });

  const updates = () => c.smn.calls.filter((call) => call.operation === 'updateSmsCallbacks');

  describe('GET', () => {
    it("lists nothing configured as [] with SMN's request id and an ETag", async () => {
      const res = await c.get(callbackPath());
      expect(res.statusCode).toBe(200);
      const [call] = c.smn.calls;
      expect(res.json()).toEqual({ request_id: call.requestId, callback: [] });
      expect(res.headers.etag).toBe(configurationEtag([]));
    });

    it("lists the configured callbacks with a strong ETag that does not depend on SMN's order", async () => {
      await c.put(callbackPath(), SEED_BODY);
      const first = await c.get(callbackPath());
      c.smn.listOrder = 'reversed';
      const reversed = await c.get(callbackPath());

      expect(byType(first.json().callback)).toEqual(byType(SEED_BODY.callback));
      expect(reversed.json().callback.map((i: { event_type: string }) => i.event_type)).toEqual(
        first
          .json()
          .callback.map((i: { event_type: string }) => i.event_type)
          .reverse(),
      );
      expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(reversed.headers.etag).toBe(first.headers.etag);
    });

    it.each([
      ['a configured type', 'sms_fail_event', [item('sms_fail_event', urn('test_fail'))]],
      ['a type not configured', 'sms_success_event', []],
    ])('filtered by %s: only that type, and no ETag (a part is not the configuration)', async (_, eventType, expected) => {
      c.smn.setConfiguration(PROJECT_ID, [{ eventType: 'sms_fail_event', topicUrn: urn('test_fail') }]);
      const res = await c.get(`${callbackPath()}?event_type=${eventType}`);
      expect(res.statusCode).toBe(200);
      expect(res.json().callback).toEqual(expected);
      expect(res.headers.etag).toBeUndefined();
      expect(c.smn.calls).toEqual([expect.objectContaining({ operation: 'listSmsCallbacks', eventType })]);
    });
  });

  describe('PUT', () => {
    it("answers SMN's request id and the ETag of the new configuration, which the next GET repeats", async () => {
      const res = await c.put(callbackPath(), SEED_BODY);
      expect(res.statusCode).toBe(200);
      const [update] = updates();
      expect(res.json()).toEqual({ request_id: update.requestId });
      expect(res.headers.etag).toBe((await c.get(callbackPath())).headers.etag);
    });

    it('upserts per event type: types not in the body keep their value, "" removes one', async () => {
      await c.put(callbackPath(), SEED_BODY);
      const res = await c.put(callbackPath(), { callback: [item('sms_fail_event', ''), item('sms_reply_event', urn('test_success'))] });
      expect(res.statusCode).toBe(200);
      expect(byType((await c.get(callbackPath())).json().callback)).toEqual(
        byType([item('sms_reply_event', urn('test_success')), item('sms_success_event', urn('test_success'))]),
      );
      expect(res.headers.etag).toBe(configurationEtag(c.smn.configuration(PROJECT_ID)));
    });

    it('keeps a sane X-Request-Id as the correlation id and forwards it to SMN; replaces any other', async () => {
      const sane = newRequestId('kept');
      const kept = await c.put(callbackPath(), SEED_BODY, { requestId: sane });
      expect(kept.headers['x-request-id']).toBe(sane);
      expect(c.smn.callsOf(sane).map((call) => call.operation)).toEqual(['listSmsCallbacks', 'updateSmsCallbacks']);

      const replaced = await c.put(callbackPath(), SEED_BODY, { requestId: 'bad id with spaces' });
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });
  });

  describe('If-Match', () => {
    const current = () => configurationEtag(c.smn.configuration(PROJECT_ID));
    const change = { callback: [item('sms_fail_event', urn('test_fail'))] };

    it.each<[string, () => string, number]>([
      ['the current ETag', current, 200],
      ['a list holding the current ETag', () => `"other", ${current()}`, 200],
      ['*', () => '*', 200],
      ['a stale ETag', () => '"stale"', 412],
      ['the current ETag as a weak tag (never matches strongly)', () => `W/${current()}`, 412],
      ['an empty list', () => '', 412],
    ])('with %s', async (_, ifMatch, status) => {
      c.smn.setConfiguration(PROJECT_ID, [{ eventType: 'sms_reply_event', topicUrn: urn('test_reply') }]);
      const before = c.smn.configuration(PROJECT_ID);
      const res = await c.put(callbackPath(), change, { headers: { 'if-match': ifMatch() } });

      expect(res.statusCode).toBe(status);
      if (status === 412) {
        expectEnvelope(res, 412, 'BFF.PRECONDITION_FAILED');
        expect(res.headers.etag).toBeUndefined();
        expect(updates()).toHaveLength(0);
        expect(c.smn.configuration(PROJECT_ID)).toEqual(before);
      } else {
        expect(updates()).toHaveLength(1);
        expect(res.headers.etag).toBe(current());
      }
    });
  });

  describe('projects', () => {
    it.each([
      ['GET', () => c.get(callbackPath(UNSERVED_PROJECT_ID))],
      ['PUT', () => c.put(callbackPath(UNSERVED_PROJECT_ID), { callback: [item('sms_fail_event', '')] })],
    ])('%s on a project this BFF does not serve: 404 without calling SMN', async (_, send) => {
      expectEnvelope(await send(), 404, 'BFF.PROJECT_NOT_FOUND');
      expect(c.smn.calls).toEqual([]);
    });
  });

  describe('validation', () => {
    const OTHER = '0123456789abcdef0123456789abcdef';
    // SMN's own rules answer with SMN's code and message (README, Errors); every other rule is the BFF's.
    const BFF = 'BFF.VALIDATION_FAILED';
    it.each<[string, unknown, string, string]>([
      ['no callback', {}, 'callback', BFF],
      ['callback not an array', { callback: 'x' }, 'callback', BFF],
      ['an empty list', { callback: [] }, 'callback', BFF],
      ['four items', { callback: [...SEED_BODY.callback, item('sms_fail_event', '')] }, 'callback', BFF],
      ['an event type twice', { callback: [item('sms_fail_event', ''), item('sms_fail_event', urn('test_fail'))] }, 'callback', BFF],
      ['an unknown event type', { callback: [item('sms_other_event', '')] }, 'callback[0].event_type', 'SMN.0100'],
      ['no event type', { callback: [{ topic_urn: '' }] }, 'callback[0].event_type', 'SMN.0100'],
      ['a topic URN that is not a string', { callback: [item('sms_fail_event', 5)] }, 'callback[0].topic_urn', 'SMN.0140'],
      ['a malformed topic URN', { callback: [item('sms_fail_event', 'urn:smn:cn-north-4:nothex:t')] }, 'callback[0].topic_urn', 'SMN.0140'],
      ['a malformed success URN', { callback: [item('sms_success_event', 'urn:smn:x')] }, 'callback[0].topic_urn', 'SMN.0142'],
      [
        'a malformed reply URN after a good item',
        { callback: [item('sms_fail_event', ''), item('sms_reply_event', 'x')] },
        'callback[1].topic_urn',
        'SMN.0144',
      ],
      ['an unknown type and a bad URN in one item (the type first, as SMN)', { callback: [item('sms_x', 'x')] }, 'callback[0].topic_urn', 'SMN.0100'],
      ['a topic of another project', { callback: [item('sms_fail_event', ''), item('sms_reply_event', urn('t', OTHER))] }, 'callback[1].topic_urn', 'SMN.0144'],
      ['a topic of another region', { callback: [item('sms_fail_event', urn('t', PROJECT_ID, 'eu-west-0'))] }, 'callback[0].topic_urn', 'SMN.0140'],
      ['a bad event type next to a BFF rule', { callback: [item('sms_other_event', '')], extra: 1 }, 'callback[0].event_type', BFF],
      ['an unknown top-level property (refused, not dropped)', { ...SEED_BODY, extra: 1 }, 'extra', BFF],
      ['an unknown property in an item', { callback: [{ ...item('sms_fail_event', ''), priority: 1 }] }, 'callback[0].priority', BFF],
      ['a body that is an array', [SEED_BODY], 'body', BFF],
      ['a body that is null', null, 'body', BFF],
    ])('PUT with %s: 400 naming the field, nothing forwarded', async (_, body, field, code) => {
      const res = await c.put(callbackPath(), body);
      const envelope = expectEnvelope(res, 400, code);
      if (code !== BFF) expect(envelope.message).toBe(SMN_MESSAGES[code]);
      const errors = envelope.errors as Array<{ field: string; message: string }>;
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
      expect(errors.map((e) => e.field)).toContain(field);
      expect(updates()).toHaveLength(0);
    });

    it.each([
      ['a project id that is not 32 lowercase hex', 'GET', callbackPath(PROJECT_ID.toUpperCase()), 'project_id', BFF],
      ['an unknown event_type filter', 'GET', `${callbackPath()}?event_type=nope`, 'event_type', 'SMN.0100'],
      ['an unknown query parameter', 'GET', `${callbackPath()}?foo=1`, 'foo', BFF],
      ['a project id that is not 32 lowercase hex', 'PUT', callbackPath('not-a-project'), 'project_id', BFF],
    ])('%s (%s): 400 naming the field', async (_, method, path, field, code) => {
      const res = method === 'GET' ? await c.get(path) : await c.put(path, SEED_BODY);
      const envelope = expectEnvelope(res, 400, code);
      expect((envelope.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
      expect(c.smn.calls).toEqual([]);
    });
  });

  describe('the body as bytes', () => {
    const nested = (depth: number) => `{"callback":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

    it.each<[string, () => Promise<{ statusCode: number }>, number, string]>([
      ['over 64 KiB', () => c.put(callbackPath(), { callback: [item('sms_fail_event', '')], pad: 'x'.repeat(70 * 1024) }), 413, 'BFF.PAYLOAD_TOO_LARGE'],
      ['text/plain', () => c.put(callbackPath(), 'callback=x', { headers: { 'content-type': 'text/plain' } }), 415, 'BFF.UNSUPPORTED_MEDIA_TYPE'],
      [
        'form-encoded',
        () => c.put(callbackPath(), 'callback=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        415,
        'BFF.UNSUPPORTED_MEDIA_TYPE',
      ],
      ['malformed JSON', () => c.put(callbackPath(), '{"callback": ['), 400, 'BFF.VALIDATION_FAILED'],
      ['empty', () => c.put(callbackPath(), ''), 400, 'BFF.VALIDATION_FAILED'],
      ['prototype poisoning', () => c.put(callbackPath(), '{"callback":[],"__proto__":{"polluted":true}}'), 400, 'BFF.VALIDATION_FAILED'],
    ])('%s: refused with the envelope, nothing forwarded', async (_, send, status, code) => {
      expectEnvelope((await send()) as never, status, code);
      expect(c.smn.calls).toEqual([]);
    });

    it('refuses JSON nested deeper than 32 levels before parsing it, and lets 32 reach validation', async () => {
      const deep = expectEnvelope(await c.put(callbackPath(), nested(33)), 400, 'BFF.VALIDATION_FAILED');
      expect(deep.errors).toEqual([{ field: 'body', message: 'must not nest deeper than 32 levels' }]);

      // Its item is a list, which has no event type: SMN's own rule, answered as SMN answers it.
      const limit = expectEnvelope(await c.put(callbackPath(), nested(32)), 400, 'SMN.0100');
      expect((limit.errors as Array<{ field: string }>).map((e) => e.field)).not.toContain('body');
      expect(c.smn.calls).toEqual([]);
    });
  });
});
