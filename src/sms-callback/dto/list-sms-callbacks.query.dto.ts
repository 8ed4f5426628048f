import { IsIn, IsOptional } from 'class-validator';
import { EVENT_TYPE_RULE } from '../../smn/sms-callback-rules';
import { SMS_EVENT_TYPES, SmsEventType } from '../../smn/smn.port';

export class ListSmsCallbacksQueryDto {
  /** Only this event type; all configured types when omitted. */
  @IsOptional()
  @IsIn(SMS_EVENT_TYPES, { message: `event_type must be one of ${SMS_EVENT_TYPES.join(', ')}`, context: EVENT_TYPE_RULE })
  event_type?: SmsEventType;
}
