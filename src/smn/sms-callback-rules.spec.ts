import { applyUpdate, TOPIC_URN } from './sms-callback-rules';

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
});
