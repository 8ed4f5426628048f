import { applyUpdate, EVENT_TYPE_RULE, invalidTopicUrnError, TOPIC_URN, TOPIC_URN_RULE } from './sms-callback-rules';

const urn = (topic: string) => `urn:smn:cn-north-4:${'a'.repeat(32)}:${topic}`;

describe('SMN callback rules', () => {
  it('upserts per event type, keeps the types not named, and removes on ""', () => {
    const before = [
      { eventType: 'sms_success_event' as const, topicUrn: urn('ok') },
      { eventType: 'sms_fail_event' as const, topicUrn: urn('fail') },
    ];
    const after = applyUpdate(before, [
      { eventType: 'sms_fail_event', topicUrn: '' },
      { eventType: 'sms_reply_event', topicUrn: urn('reply') },
    ]);
    expect(after).toEqual([
      { eventType: 'sms_success_event', topicUrn: urn('ok') },
      { eventType: 'sms_reply_event', topicUrn: urn('reply') },
    ]);
  });

  it("matches topic URNs by SMN's format", () => {
    expect(TOPIC_URN.test(urn('a_b-9'))).toBe(true);
    expect(TOPIC_URN.test(urn('_starts-with-underscore'))).toBe(false);
    expect(TOPIC_URN.test(urn('x'.repeat(257)))).toBe(false);
    expect(TOPIC_URN.test(`urn:smn:cn-north-4:${'A'.repeat(32)}:t`)).toBe(false);
  });

  it("names a bad topic URN by the item's event type, and a bad event type first, as SMN (docs/upstream-smn.md §5)", () => {
    expect(invalidTopicUrnError('sms_fail_event').code).toBe('SMN.0140');
    expect(invalidTopicUrnError('sms_success_event').code).toBe('SMN.0142');
    expect(invalidTopicUrnError('sms_reply_event')).toEqual({
      code: 'SMN.0144',
      message: 'The topic URN configured for the response message event is invalid.',
    });
    expect(invalidTopicUrnError('SMS_REPLY_EVENT').code).toBe('SMN.0100');
    expect(TOPIC_URN_RULE.errorFor({ event_type: 'sms_success_event' }).code).toBe('SMN.0142');
    expect(EVENT_TYPE_RULE.errorFor({})).toEqual({ code: 'SMN.0100', message: 'The eventType parameter is invalid.' });
  });
});
