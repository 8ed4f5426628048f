import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { SMS_EVENT_TYPES, SmsEventType } from '../../smn/smn.port';

/** `urn:smn:{region}:{project_id}:{topic}`; the topic starts with a letter or digit, then up to 255 of `[-_A-Za-z0-9]`. */
export const TOPIC_URN = /^urn:smn:([a-z0-9-]+):([0-9a-f]{32}):([A-Za-z0-9][-_A-Za-z0-9]{0,255})$/;

/** Which topic receives one kind of SMS event. */
export class SmsCallbackDto {
  /**
   * The SMS event: delivered (`sms_success_event`), failed (`sms_fail_event`) or replied to (`sms_reply_event`).
   * @example sms_reply_event
   */
  @IsIn(SMS_EVENT_TYPES, { message: `event_type must be one of ${SMS_EVENT_TYPES.join(', ')}` })
  event_type!: SmsEventType;

  /**
   * URN of the SMN topic that receives the event, `urn:smn:{region}:{project_id}:{topic}` with the path's
   * project and the project's region; `""` removes this event's callback.
   * @example urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_reply
   */
  @IsString()
  @MaxLength(400)
  @Matches(new RegExp(`^$|${TOPIC_URN.source}`), {
    message: 'topic_urn must be "" or urn:smn:{region}:{project_id}:{topic} (topic: letter or digit, then up to 255 of A-Z a-z 0-9 - _)',
  })
  topic_urn!: string;
}
