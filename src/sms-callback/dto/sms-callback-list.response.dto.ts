import { ConfiguredSmsCallbackDto } from './configured-sms-callback.response.dto';

/** ListSmsEvent answer. */
export class SmsCallbackListDto {
  /**
   * SMN's request id.
   * @example 6a63a18b8bab40ffb71ebd9cb80d0085
   */
  request_id!: string;
  /** The configured callbacks only; `[]` when none is configured. */
  callback!: ConfiguredSmsCallbackDto[];
}
