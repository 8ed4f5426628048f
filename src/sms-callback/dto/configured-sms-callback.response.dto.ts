import { ApiProperty } from '@nestjs/swagger';
import { SMS_EVENT_TYPES, SmsEventType } from '../../smn/smn.port';

/** One configured callback, as SMN lists it. */
export class ConfiguredSmsCallbackDto {
  /**
   * The SMS event: delivered (`sms_success_event`), failed (`sms_fail_event`) or replied to (`sms_reply_event`).
   * @example sms_reply_event
   */
  @ApiProperty({ enum: SMS_EVENT_TYPES })
  event_type!: SmsEventType;

  /**
   * URN of the SMN topic that receives the event.
   * @example urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_reply
   */
  topic_urn!: string;
}
