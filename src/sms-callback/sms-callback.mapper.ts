import type { SmnWriteResult, SmsCallback, SmsCallbackList } from '../smn/smn.port';
import type { ConfiguredSmsCallbackDto } from './dto/configured-sms-callback.response.dto';
import type { SmsCallbackListDto } from './dto/sms-callback-list.response.dto';
import type { SmsCallbackDto } from './dto/sms-callback.request.dto';
import type { UpdateResultDto } from './dto/update-result.response.dto';

/** Wire (snake_case, as SMN) ↔ port (camelCase) shapes. */
export const SmsCallbackMapper = {
  toDomain(items: SmsCallbackDto[]): SmsCallback[] {
    return items.map((item) => ({ eventType: item.event_type, topicUrn: item.topic_urn }));
  },
  toWire(callbacks: SmsCallback[]): ConfiguredSmsCallbackDto[] {
    return callbacks.map((c) => ({ event_type: c.eventType, topic_urn: c.topicUrn }));
  },
  toListDto(list: SmsCallbackList): SmsCallbackListDto {
    return { request_id: list.requestId, callback: SmsCallbackMapper.toWire(list.callbacks) };
  },
  toUpdateResultDto(result: SmnWriteResult): UpdateResultDto {
    return { request_id: result.requestId };
  },
};
