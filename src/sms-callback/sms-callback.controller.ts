import { Body, Controller, Get, Headers, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Attempt, AuditedChange, ChangeAttempt } from '../audit/change-attempt';
import { Authenticated } from '../auth/authenticated.decorator';
import { Scope } from '../auth/caller';
import { ApiSmnRouteErrorResponses } from '../common/api-error-responses.decorator';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks.query.dto';
import { ProjectParamsDto } from './dto/project.params.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.response.dto';
import { UpdateResultDto } from './dto/update-result.response.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.request.dto';
import { SmsCallbackService, WithEtag } from './sms-callback.service';

const ETAG_HEADER = { ETag: { description: 'Strong entity tag of the whole configuration (absent on filtered lists).', schema: { type: 'string' } } };

/** Same paths and bodies as SMN v2, so SMN documentation and SDK habits carry over. */
@ApiTags('SMS callbacks')
@Controller('v2/:project_id/notifications/sms/callback')
export class SmsCallbackController {
  constructor(private readonly service: SmsCallbackService) {}

  /** Lists the configured SMS event callbacks of a project (SMN ListSmsEvent). */
  @Get()
  @Authenticated(Scope.SmsCallbackRead)
  @ApiOperation({ operationId: 'listSmsCallbacks', summary: 'List SMS event callbacks' })
  @ApiResponse({ status: 200, type: SmsCallbackListDto, headers: ETAG_HEADER })
  @ApiSmnRouteErrorResponses(400, 401, 403, 404, 429, 500, 502, 503, 504)
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
  @ApiHeader({ name: 'If-Match', required: false, description: 'Apply only if the configuration still has this ETag (412 otherwise).' })
  @ApiResponse({ status: 200, type: UpdateResultDto, headers: ETAG_HEADER })
  @ApiSmnRouteErrorResponses(400, 401, 403, 404, 412, 413, 415, 429, 500, 502, 503, 504)
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
