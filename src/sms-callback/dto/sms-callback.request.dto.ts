import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { EVENT_TYPE_RULE, TOPIC_URN, TOPIC_URN_RULE } from '../../smn/sms-callback-rules';
import { SMS_EVENT_TYPES, SmsEventType } from '../../smn/smn.port';

/** Which topic receives one kind of SMS event: one item of an UpdateSmsEvent request. */
export class SmsCallbackDto {
  /**
   * The SMS event: delivered (`sms_success_event`), failed (`sms_fail_event`) or replied to (`sms_reply_event`).
   * @example sms_reply_event
   */
  @IsIn(SMS_EVENT_TYPES, { message: `event_type must be one of ${SMS_EVENT_TYPES.join(', ')}`, context: EVENT_TYPE_RULE })
  event_type!: SmsEventType;

  /**
   * URN of the SMN topic that receives the event, `urn:smn:{region}:{project_id}:{topic}` with the path's
   * project and the project's region; `""` removes this event's callback.
   * @example urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_reply
   */
  // SMN's own rule (SMN.0140/0142/0144 by event type, README, Errors), whichever of these breaks it.
  @IsString({ context: TOPIC_URN_RULE })
  @MaxLength(400, { context: TOPIC_URN_RULE })
  @Matches(new RegExp(`^$|${TOPIC_URN.source}`), {
    message: 'topic_urn must be "" or urn:smn:{region}:{project_id}:{topic} (topic: letter or digit, then up to 255 of A-Z a-z 0-9 - _)',
    context: TOPIC_URN_RULE,
  })
  topic_urn!: string;
}
