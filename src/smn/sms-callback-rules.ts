import type { RuleError, UpstreamRule } from '../common/validation';
import { SMS_EVENT_TYPES, type SmsCallback, type SmsEventType } from './smn.port';

/**
 * SMN's own rules for SMS callbacks (docs/upstream-smn.md §3, §4), in one place for the BFF's validation
 * and its ETag of the configuration after a write.
 */

/** `urn:smn:{region}:{project_id}:{topic}`; the topic starts with a letter or digit, then up to 255 of `[-_A-Za-z0-9]`. */
export const TOPIC_URN = /^urn:smn:([a-z0-9-]+):([0-9a-f]{32}):([A-Za-z0-9][-_A-Za-z0-9]{0,255})$/;

/** SMN's answers to a broken rule of its own, codes and messages verbatim (docs/upstream-smn.md §5). */
export const SMN_RULE_ERRORS = {
  invalidEventType: { code: 'SMN.0100', message: 'The eventType parameter is invalid.' },
  invalidTopicUrn: {
    sms_fail_event: { code: 'SMN.0140', message: 'The topic URN configured for the message sending failure event is invalid.' },
    sms_success_event: { code: 'SMN.0142', message: 'The topic URN configured for the message sending success event is invalid.' },
    sms_reply_event: { code: 'SMN.0144', message: 'The topic URN configured for the response message event is invalid.' },
  },
} as const satisfies { invalidEventType: RuleError; invalidTopicUrn: Record<SmsEventType, RuleError> };

const isEventType = (value: unknown): value is SmsEventType => (SMS_EVENT_TYPES as readonly unknown[]).includes(value);

/**
 * SMN's answer to a bad topic URN (malformed, or naming another project or region) in an item with this
 * event type: the URN code of that type, or — SMN checks the type first — SMN.0100 when it is none.
 */
export function invalidTopicUrnError(eventType: unknown): RuleError {
  return isEventType(eventType) ? SMN_RULE_ERRORS.invalidTopicUrn[eventType] : SMN_RULE_ERRORS.invalidEventType;
}

/** The context of the event-type constraints (body and query): a broken one answers SMN.0100. */
export const EVENT_TYPE_RULE: UpstreamRule = { upstreamRule: true, errorFor: () => SMN_RULE_ERRORS.invalidEventType };

/** The context of the topic-URN constraints of a callback item: a broken one answers its type's URN code. */
export const TOPIC_URN_RULE: UpstreamRule = {
  upstreamRule: true,
  errorFor: (item) => invalidTopicUrnError((item as { event_type?: unknown }).event_type),
};

/** The configuration after an UpdateSmsEvent: upsert per event type, `""` removes that type's callback. */
export function applyUpdate(before: SmsCallback[], update: SmsCallback[]): SmsCallback[] {
  const byType = new Map(before.map((c) => [c.eventType, c]));
  for (const change of update) {
    if (change.topicUrn === '') byType.delete(change.eventType);
    else byType.set(change.eventType, change);
  }
  return [...byType.values()];
}
