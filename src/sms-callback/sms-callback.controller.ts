import { Body, Controller, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-error-responses.decorator';
import { ListSmsCallbacksQueryDto } from './dto/list-sms-callbacks-query.dto';
import { ProjectParamsDto } from './dto/project-params.dto';
import { SmsCallbackListDto } from './dto/sms-callback-list.dto';
import { UpdateResultDto } from './dto/update-result.dto';
import { UpdateSmsCallbacksDto } from './dto/update-sms-callbacks.dto';
import { SmsCallbackService } from './sms-callback.service';

/** Same paths and bodies as SMN v2, so SMN documentation and SDK habits carry over. */
@ApiTags('SMS callbacks')
@Controller('v2/:project_id/notifications/sms/callback')
export class SmsCallbackController {
  constructor(private readonly service: SmsCallbackService) {}

  /** Lists the configured SMS event callbacks of a project (SMN ListSmsEvent). */
  @Get()
  @ApiOperation({ operationId: 'listSmsCallbacks', summary: 'List SMS event callbacks' })
  @ApiErrorResponses(400, 404, 500, 502, 503, 504)
  list(@Param() params: ProjectParamsDto, @Query() query: ListSmsCallbacksQueryDto): Promise<SmsCallbackListDto> {
    return this.service.list(params.project_id, query);
  }

  /** Sets or removes the topics that receive a project's SMS events (SMN UpdateSmsEvent). */
  @Put()
  @HttpCode(200)
  @ApiOperation({ operationId: 'updateSmsCallbacks', summary: 'Update SMS event callbacks' })
  @ApiErrorResponses(400, 404, 413, 415, 500, 502, 503, 504)
  update(@Param() params: ProjectParamsDto, @Body() body: UpdateSmsCallbacksDto): Promise<UpdateResultDto> {
    return this.service.update(params.project_id, body);
  }
}
