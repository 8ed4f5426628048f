import { Injectable } from '@nestjs/common';
import { ChangeAttempt } from '../audit/change-attempt';
import { ChangeAttemptLifecycle } from '../audit/change-attempt.lifecycle';
import { BffError, FieldError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { upstreamRuleBroken } from '../common/validation';
import { SmnEndpoints } from '../smn/smn-endpoints';
import { applyUpdate, invalidTopicUrnError, TOPIC_URN } from '../smn/sms-callback-rules';
import { SmnPort, SmsEventType } from '../smn/smn.port';
import { configurationEtag, ifMatchSatisfied } from './configuration-etag';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks.query.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.response.dto';
import { SmsCallbackDto } from './dto/sms-callback.request.dto';
import { UpdateResultDto } from './dto/update-result.response.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.request.dto';
import { SmsCallbackMapper } from './sms-callback.mapper';

export interface WithEtag<T> {
  body: T;
  /** Set for unfiltered reads and successful writes. */
  etag?: string;
}

@Injectable()
export class SmsCallbackService {
  constructor(
    private readonly smn: SmnPort,
    private readonly endpoints: SmnEndpoints,
    private readonly changes: ChangeAttemptLifecycle,
  ) {}

  async list(projectId: string, query: ListSmsCallbacksQueryDto): Promise<WithEtag<SmsCallbackListDto>> {
    this.regionOf(projectId);
    const eventType = query.event_type as SmsEventType | undefined;
    const list = await this.smn.listSmsCallbacks(projectId, eventType);
    // A filtered list is only part of the configuration, so it has no ETag.
    return { body: SmsCallbackMapper.toListDto(list), etag: eventType ? undefined : configurationEtag(list.callbacks) };
  }

  /**
   * The business rule: the topics must belong to the project and its region, and with `If-Match` the
   * configuration must still be the one the caller read. The change attempt lifecycle runs the steps
   * under the project lock, write-ahead audited, within the change deadline.
   */
  async update(projectId: string, body: UpdateSmsCallbacksDto, ifMatch: string | undefined, attempt: ChangeAttempt): Promise<WithEtag<UpdateResultDto>> {
    assertTopicsBelongTo(projectId, this.regionOf(projectId), body.callback);
    const update = SmsCallbackMapper.toDomain(body.callback);
    const { before, result } = await this.changes.run(attempt, {
      readBefore: async (signal) => (await this.smn.listSmsCallbacks(projectId, undefined, { signal })).callbacks,
      recordedBefore: (callbacks) => SmsCallbackMapper.toWire(callbacks),
      check: (callbacks) => {
        // An empty If-Match is a list of no tags: it matches nothing (RFC 9110), it is not "no precondition".
        if (ifMatch !== undefined && !ifMatchSatisfied(ifMatch, configurationEtag(callbacks))) {
          throw new BffError(412, ErrorCode.PreconditionFailed, 'The configuration changed since it was read: GET it again and retry with its ETag.');
        }
      },
      forward: (signal) => this.smn.updateSmsCallbacks(projectId, update, { signal }),
      upstreamRequestId: (written) => written.requestId,
    });
    return { body: SmsCallbackMapper.toUpdateResultDto(result), etag: configurationEtag(applyUpdate(before, update)) };
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

/**
 * A topic URN must name the path's project and the project's region (docs/upstream-smn.md §4). SMN's own
 * rule, so the answer is SMN's: the URN code of the first such item's event type, every field kept.
 */
function assertTopicsBelongTo(projectId: string, region: string, callbacks: SmsCallbackDto[]): void {
  const errors: FieldError[] = [];
  let first: SmsCallbackDto | undefined;
  callbacks.forEach((callback, index) => {
    if (callback.topic_urn === '') return;
    const [, urnRegion, urnProject] = TOPIC_URN.exec(callback.topic_urn) ?? [];
    const field = `callback[${index}].topic_urn`;
    if (urnProject !== projectId) errors.push({ field, message: `the topic must belong to project ${projectId}` });
    if (urnRegion !== region) errors.push({ field, message: `the topic must be in region ${region}, the project's region` });
    if (errors.length && !first) first = callback;
  });
  if (first) throw upstreamRuleBroken(invalidTopicUrnError(first.event_type), errors);
}
