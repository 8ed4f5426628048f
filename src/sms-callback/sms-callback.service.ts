import { Injectable } from '@nestjs/common';
import { BffError, FieldError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { validationFailed } from '../common/validation';
import { SmnEndpoints } from '../smn/smn-endpoints';
import { SmnPort, SmsEventType } from '../smn/smn.port';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks-query.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.dto';
import { SmsCallbackDto, TOPIC_URN } from './dto/sms-callback.dto';
import { UpdateResultDto } from './dto/update-result.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.dto';
import { SmsCallbackMapper } from './sms-callback.mapper';

@Injectable()
export class SmsCallbackService {
  constructor(
    private readonly smn: SmnPort,
    private readonly endpoints: SmnEndpoints,
  ) {}

  async list(projectId: string, query: ListSmsCallbacksQueryDto): Promise<SmsCallbackListDto> {
    this.regionOf(projectId);
    const list = await this.smn.listSmsCallbacks(projectId, query.event_type as SmsEventType | undefined);
    return SmsCallbackMapper.toListDto(list);
  }

  async update(projectId: string, body: UpdateSmsCallbacksDto): Promise<UpdateResultDto> {
    const region = this.regionOf(projectId);
    assertTopicsBelongTo(projectId, region, body.callback);
    const result = await this.smn.updateSmsCallbacks(projectId, SmsCallbackMapper.toDomain(body.callback));
    return SmsCallbackMapper.toUpdateResultDto(result);
  }

  /** Only configured projects are served; the rest answer 404 without calling upstream. */
  private regionOf(projectId: string): string {
    const region = this.endpoints.regionOf(projectId);
    if (!region) {
      throw new BffError(404, ErrorCode.ProjectNotFound, `Project ${projectId} is not served by this BFF.`);
    }
    return region;
  }
}

/** A topic URN must name the path's project and the project's region (design §2). */
function assertTopicsBelongTo(projectId: string, region: string, callbacks: SmsCallbackDto[]): void {
  const errors: FieldError[] = [];
  callbacks.forEach((callback, index) => {
    if (callback.topic_urn === '') return;
    const [, urnRegion, urnProject] = TOPIC_URN.exec(callback.topic_urn) ?? [];
    const field = `callback[${index}].topic_urn`;
    if (urnProject !== projectId) errors.push({ field, message: `the topic must belong to project ${projectId}` });
    if (urnRegion !== region) errors.push({ field, message: `the topic must be in region ${region}, the project's region` });
  });
  if (errors.length) throw validationFailed(errors);
}
