/** The three SMS event types whose callbacks SMN can route to a topic. */
export const SMS_EVENT_TYPES = ['sms_success_event', 'sms_fail_event', 'sms_reply_event'] as const;
export type SmsEventType = (typeof SMS_EVENT_TYPES)[number];

export interface SmsCallback {
  eventType: SmsEventType;
  /** `urn:smn:{region}:{project_id}:{topic}`; `''` in an update removes that event's callback. */
  topicUrn: string;
}

export interface SmsCallbackList {
  /** SMN's request id of the answering call. */
  requestId: string;
  callbacks: SmsCallback[];
}

export interface SmnWriteResult {
  requestId: string;
}

export interface SmnCallOptions {
  /** Ends the call (all its attempts and backoff) when aborted: the caller's share of a larger deadline. */
  signal?: AbortSignal;
}

/**
 * The SMN operations the BFF needs, by intention. The feature depends on this port only; the HTTP
 * adapter owns URLs, signing, timeouts, retries, the breaker and error translation. Failures are thrown
 * as the typed errors of `smn.errors.ts`.
 */
export abstract class SmnPort {
  /** ListSmsEvent: the configured callbacks of a project, optionally of one event type. */
  abstract listSmsCallbacks(projectId: string, eventType?: SmsEventType, options?: SmnCallOptions): Promise<SmsCallbackList>;

  /**
   * UpdateSmsEvent: upserts per event type; an empty topic URN removes that event's callback. A failure
   * after the change may have reached SMN (no well-formed answer came back) has `outcomeUnknown` set.
   */
  abstract updateSmsCallbacks(projectId: string, callbacks: SmsCallback[], options?: SmnCallOptions): Promise<SmnWriteResult>;
}
