import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { BffError, FieldError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { validationFailed } from '../common/validation';
import { SmnEndpoints } from '../smn/smn-endpoints';
import { SmnPort, SmsCallback, SmsEventType } from '../smn/smn.port';
import { outcomeOfError } from './audit-outcome';
import { ChangeAttempt } from './change-attempt';
import { applyUpdate, configurationEtag, ifMatchSatisfied } from './configuration-etag';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks-query.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.dto';
import { SmsCallbackDto, TOPIC_URN } from './dto/sms-callback.dto';
import { UpdateResultDto } from './dto/update-result.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.dto';
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
    private readonly audit: AuditService,
  ) {}

  async list(projectId: string, query: ListSmsCallbacksQueryDto): Promise<WithEtag<SmsCallbackListDto>> {
    this.regionOf(projectId);
    const eventType = query.event_type as SmsEventType | undefined;
    const list = await this.smn.listSmsCallbacks(projectId, eventType);
    // A filtered list is only part of the configuration, so it has no ETag.
    return { body: SmsCallbackMapper.toListDto(list), etag: eventType ? undefined : configurationEtag(list.callbacks) };
  }

  /**
   * Under the project lock: read the configuration before, check `If-Match`, commit the audit intent, and
   * only then forward the change (write-ahead, fail closed). Every path ends in exactly one audit record.
   */
  async update(projectId: string, body: UpdateSmsCallbacksDto, attempt: ChangeAttempt): Promise<WithEtag<UpdateResultDto>> {
    try {
      assertTopicsBelongTo(projectId, this.regionOf(projectId), body.callback);
    } catch (error) {
      throw await this.recordRefusal(attempt, error);
    }
    const update = SmsCallbackMapper.toDomain(body.callback);

    return this.audit.withProjectLock(projectId, async () => {
      let before: SmsCallback[];
      try {
        before = (await this.smn.listSmsCallbacks(projectId)).callbacks;
      } catch (error) {
        throw await this.recordRefusal(attempt, error);
      }
      const beforeState = SmsCallbackMapper.toWire(before);
      // An empty If-Match is a list of no tags: it matches nothing (RFC 9110), it is not "no precondition".
      if (attempt.ifMatch !== undefined && !ifMatchSatisfied(attempt.ifMatch, configurationEtag(before))) {
        const error = new BffError(
          412,
          ErrorCode.PreconditionFailed,
          'The configuration changed since it was read: GET it again and retry with its ETag.',
        );
        throw await this.recordRefusal(attempt, error, beforeState);
      }

      const ticket = await this.audit.begin({ ...attempt.audit, before: beforeState });
      attempt.recorded = true;
      try {
        const result = await this.smn.updateSmsCallbacks(projectId, update);
        await this.audit.complete(ticket, {
          outcome: 'succeeded',
          httpStatus: 200,
          upstreamStatus: 200,
          upstreamRequestId: result.requestId,
        });
        return { body: SmsCallbackMapper.toUpdateResultDto(result), etag: configurationEtag(applyUpdate(before, update)) };
      } catch (error) {
        await this.audit.complete(ticket, outcomeOfError(error, true));
        throw error;
      }
    });
  }

  /** Records a refused attempt and hands the error back for throwing. */
  private async recordRefusal(attempt: ChangeAttempt, error: unknown, before?: unknown): Promise<unknown> {
    await this.audit.record({ ...attempt.audit, before }, outcomeOfError(error));
    attempt.recorded = true;
    return error;
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
