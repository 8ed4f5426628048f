import type { SmnWriteResult, SmsCallback, SmsCallbackList } from '../smn/smn.port';
import type { SmsCallbackListDto } from './dto/sms-callback-list.dto';
import type { SmsCallbackDto } from './dto/sms-callback.dto';
import type { UpdateResultDto } from './dto/update-result.dto';

/** Wire (snake_case, as SMN) ↔ port (camelCase) shapes. */
export const SmsCallbackMapper = {
  toDomain(items: SmsCallbackDto[]): SmsCallback[] {
    return items.map((item) => ({ eventType: item.event_type, topicUrn: item.topic_urn }));
  },
  toWire(callbacks: SmsCallback[]): SmsCallbackDto[] {
    return callbacks.map((c) => ({ event_type: c.eventType, topic_urn: c.topicUrn }));
  },
  toListDto(list: SmsCallbackList): SmsCallbackListDto {
    return { request_id: list.requestId, callback: SmsCallbackMapper.toWire(list.callbacks) };
  },
  toUpdateResultDto(result: SmnWriteResult): UpdateResultDto {
    return { request_id: result.requestId };
  },
};
