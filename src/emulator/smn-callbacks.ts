import { SMN, SmnError } from './errors';

/** The SMS callback-event semantics of SMN v2, as the legacy SMN SDKs define them and the BFF's contract mirrors them. */

export const EVENT_TYPES = ['sms_success_event', 'sms_fail_event', 'sms_reply_event'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface CallbackItem {
  event_type: EventType;
  topic_urn: string;
}

/** One validated change: a URN to set, or `""` to remove that event's callback. */
export interface CallbackChange {
  eventType: EventType;
  topicUrn: string;
}

export const PROJECT_ID = /^[0-9a-f]{32}$/;
export const TOPIC_NAME = /^[A-Za-z0-9][-_A-Za-z0-9]{0,255}$/;
const TOPIC_URN = /^urn:smn:([a-z0-9-]+):([0-9a-f]{32}):([A-Za-z0-9][-_A-Za-z0-9]{0,255})$/;

const URN_ERRORS: Record<EventType, { invalid: SmnError; missing: SmnError }> = {
  sms_fail_event: { invalid: SMN.failUrnInvalid, missing: SMN.failTopicMissing },
  sms_success_event: { invalid: SMN.successUrnInvalid, missing: SMN.successTopicMissing },
  sms_reply_event: { invalid: SMN.replyUrnInvalid, missing: SMN.replyTopicMissing },
};

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

export function topicUrn(region: string, projectId: string, topic: string): string {
  return `urn:smn:${region}:${projectId}:${topic}`;
}

export interface UpdateTarget {
  projectId: string;
  region: string;
  hasTopic(name: string): boolean;
}

export type UpdateValidation = { ok: true; changes: CallbackChange[] } | { ok: false; error: SmnError };

/**
 * Validates a whole UpdateSmsEvent body before anything is applied, so a request with one bad item
 * changes nothing. The first bad item, in body order, decides the error.
 */
export function validateUpdate(body: unknown, target: UpdateTarget): UpdateValidation {
  const callback = isObject(body) ? body.callback : undefined;
  if (!Array.isArray(callback) || callback.length === 0) return { ok: false, error: SMN.invalidBody };

  const changes: CallbackChange[] = [];
  for (const item of callback) {
    const eventType = isObject(item) ? item.event_type : undefined;
    if (!isEventType(eventType)) return { ok: false, error: SMN.invalidEventType };
    // How SMN treats a repeated type is unknown; refusing it keeps the outcome independent of order.
    if (changes.some((c) => c.eventType === eventType)) return { ok: false, error: SMN.invalidBody };

    const urn = (item as Record<string, unknown>).topic_urn;
    const errors = URN_ERRORS[eventType];
    if (typeof urn !== 'string') return { ok: false, error: errors.invalid };
    if (urn !== '') {
      const m = TOPIC_URN.exec(urn);
      if (!m || m[1] !== target.region || m[2] !== target.projectId) return { ok: false, error: errors.invalid };
      if (!target.hasTopic(m[3])) return { ok: false, error: errors.missing };
    }
    changes.push({ eventType, topicUrn: urn });
  }
  return { ok: true, changes };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
