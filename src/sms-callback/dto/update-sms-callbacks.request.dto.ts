import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsDefined, ValidateNested } from 'class-validator';
import { SmsCallbackDto } from './sms-callback.request.dto';

/** UpdateSmsEvent request: upserts the listed event types; types not listed keep their callback. */
export class UpdateSmsCallbacksDto {
  /**
   * One to three callbacks, at most one per event type.
   * @example [{"event_type":"sms_reply_event","topic_urn":"urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_reply"},{"event_type":"sms_fail_event","topic_urn":"urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_fail"},{"event_type":"sms_success_event","topic_urn":"urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_success"}]
   */
  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(3)
  @ArrayUnique((item: SmsCallbackDto) => item?.event_type, { message: 'callback must not list an event_type twice' })
  @ValidateNested({ each: true })
  @Type(() => SmsCallbackDto)
  callback!: SmsCallbackDto[];
}
