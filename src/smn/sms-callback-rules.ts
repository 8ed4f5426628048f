import type { SmsCallback } from './smn.port';

/**
 * SMN's own rules for SMS callbacks (docs/upstream-smn.md §3, §4), in one place for the BFF's validation
 * and its ETag of the configuration after a write.
 */

/** `urn:smn:{region}:{project_id}:{topic}`; the topic starts with a letter or digit, then up to 255 of `[-_A-Za-z0-9]`. */
export const TOPIC_URN = /^urn:smn:([a-z0-9-]+):([0-9a-f]{32}):([A-Za-z0-9][-_A-Za-z0-9]{0,255})$/;

/** The configuration after an UpdateSmsEvent: upsert per event type, `""` removes that type's callback. */
export function applyUpdate(before: SmsCallback[], update: SmsCallback[]): SmsCallback[] {
  const byType = new Map(before.map((c) => [c.eventType, c]));
  for (const change of update) {
    if (change.topicUrn === '') byType.delete(change.eventType);
    else byType.set(change.eventType, change);
  }
  return [...byType.values()];
}
