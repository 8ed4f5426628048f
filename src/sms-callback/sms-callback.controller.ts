import { Body, Controller, Get, Headers, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Attempt, AuditedChange, ChangeAttempt } from '../audit/change-attempt';
import { Authenticated } from '../auth/authenticated.decorator';
import { Scope } from '../auth/caller';
import { ApiErrorResponses, AUTHENTICATED_ROUTE_ERRORS, ErrorResponse, RATE_LIMIT_HEADERS, UPSTREAM_ERRORS } from '../common/api-error-responses.decorator';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks.query.dto';
import { ProjectParamsDto } from './dto/project.params.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.response.dto';
import { UpdateResultDto } from './dto/update-result.response.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.request.dto';
import { SmsCallbackService, WithEtag } from './sms-callback.service';

const LIST_ETAG = {
  ...RATE_LIMIT_HEADERS,
  ETag: {
    description: 'Strong entity tag of the whole configuration, for `If-Match`; absent when `event_type` filters the list.',
    schema: { type: 'string' },
  },
};
const UPDATED_ETAG = {
  ...RATE_LIMIT_HEADERS,
  ETag: { description: 'Strong entity tag of the configuration after the change.', required: true, schema: { type: 'string' } },
};

/** Same paths and bodies as SMN v2, so SMN documentation and SDK habits carry over. */
@ApiTags('SMS callbacks')
@Controller('v2/:project_id/notifications/sms/callback')
export class SmsCallbackController {
  constructor(private readonly service: SmsCallbackService) {}

  /** Lists the configured SMS event callbacks of a project (SMN ListSmsEvent). */
  @Get()
  @Authenticated(Scope.SmsCallbackRead)
  @ApiOperation({ operationId: 'listSmsCallbacks', summary: 'List SMS event callbacks' })
  @ApiResponse({ status: 200, description: 'The configured callbacks.', type: SmsCallbackListDto, headers: LIST_ETAG })
  @ApiErrorResponses(
    ErrorResponse.SmnEventTypeRule,
    ErrorResponse.ValidationFailed,
    ErrorResponse.ProjectNotFound,
    // A GET body is read (SMN SDKs sign one) and limited like a PUT's.
    ErrorResponse.PayloadTooLarge,
    AUTHENTICATED_ROUTE_ERRORS,
    UPSTREAM_ERRORS,
  )
  async list(
    @Param() params: ProjectParamsDto,
    @Query() query: ListSmsCallbacksQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SmsCallbackListDto> {
    return withEtag(reply, await this.service.list(params.project_id, query));
  }

  /** Sets or removes the topics that receive a project's SMS events (SMN UpdateSmsEvent). Every attempt is audited. */
  @Put()
  @AuditedChange()
  @Authenticated(Scope.SmsCallbackWrite)
  @HttpCode(200)
  @ApiOperation({ operationId: 'updateSmsCallbacks', summary: 'Update SMS event callbacks' })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'Apply only if the configuration still has this ETag (412 otherwise); `*` or none: last writer wins.',
  })
  @ApiResponse({ status: 200, description: 'SMN applied the change.', type: UpdateResultDto, headers: UPDATED_ETAG })
  @ApiErrorResponses(
    ErrorResponse.SmnEventTypeRule,
    ErrorResponse.SmnTopicUrnRule,
    ErrorResponse.ValidationFailed,
    ErrorResponse.ProjectNotFound,
    ErrorResponse.PreconditionFailed,
    ErrorResponse.PayloadTooLarge,
    ErrorResponse.UnsupportedMediaType,
    ErrorResponse.ProjectBusy,
    ErrorResponse.AuditUnavailable,
    AUTHENTICATED_ROUTE_ERRORS,
    UPSTREAM_ERRORS,
  )
  async update(
    @Param() params: ProjectParamsDto,
    @Body() body: UpdateSmsCallbacksDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Attempt() attempt: ChangeAttempt,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UpdateResultDto> {
    return withEtag(reply, await this.service.update(params.project_id, body, ifMatch, attempt));
  }
}

function withEtag<T>(reply: FastifyReply, result: WithEtag<T>): T {
  if (result.etag) void reply.header('etag', result.etag);
  return result.body;
}
