import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentCaller } from '../auth/authenticated.decorator';
import { Caller, Scope, canAccessProject } from '../auth/caller';
import { ApiErrorResponses, AUTHENTICATED_ROUTE_ERRORS, ErrorResponse, RATE_LIMIT_HEADERS } from '../common/api-error-responses.decorator';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { validationFailed } from '../common/validation';
import { AuditCheckpointPublisher, toCheckpointDocument } from './audit-checkpoint';
import { AuditService } from './audit.service';
import { AuditCheckpointDto } from './dto/audit-checkpoint.dto';
import { AuditChainVerificationDto, AuditEventPageDto } from './dto/audit-event.dto';
import { ListAuditEventsQueryDto } from './dto/list-audit-events-query.dto';

@ApiTags('Audit')
@Controller('audit')
export class AuditEventsController {
  constructor(
    private readonly audit: AuditService,
    private readonly checkpoints: AuditCheckpointPublisher,
  ) {}

  /** Who changed which project's SMS callbacks, from what to what, when, and how it ended. Newest first. */
  @Get('events')
  @Authenticated(Scope.AuditRead)
  @ApiOperation({ operationId: 'listAuditEvents', summary: 'List audited change attempts' })
  @ApiResponse({ status: 200, description: "A page of the caller's projects' records.", type: AuditEventPageDto, headers: RATE_LIMIT_HEADERS })
  @ApiErrorResponses(ErrorResponse.ValidationFailed, ErrorResponse.AuditUnavailable, AUTHENTICATED_ROUTE_ERRORS)
  list(@Query() query: ListAuditEventsQueryDto, @CurrentCaller() caller: Caller): Promise<AuditEventPageDto> {
    return this.audit.query(toAuditQuery(query, caller));
  }

  /**
   * Recomputes the whole hash chain and checks every signature (what `npm run audit:verify` does; it asks
   * here when the embedded store is held by this server). Needs access to every project.
   */
  @Get('verification')
  @Authenticated(Scope.AuditRead)
  @ApiOperation({ operationId: 'verifyAuditChain', summary: 'Verify the audit chain' })
  @ApiResponse({ status: 200, description: 'The result, intact or not.', type: AuditChainVerificationDto, headers: RATE_LIMIT_HEADERS })
  @ApiErrorResponses(ErrorResponse.AuditUnavailable, AUTHENTICATED_ROUTE_ERRORS)
  async verify(@CurrentCaller() caller: Caller): Promise<AuditChainVerificationDto> {
    if (caller.projects !== '*') throw new BffError(403, ErrorCode.Forbidden, 'Verifying the whole chain needs access to every project.');
    const result = await this.audit.verifyChain();
    return result.ok ? { intact: true, records: result.count } : { intact: false, records: result.count, first_broken: result.firstBroken };
  }

  /**
   * The signed checkpoint of the chain head. Kept outside the database (`audit:verify -- --checkpoint FILE`),
   * it exposes records later cut off the end of the chain, which the chain alone cannot. Needs access to every project.
   */
  @Get('checkpoint')
  @Authenticated(Scope.AuditRead)
  @ApiOperation({ operationId: 'getAuditCheckpoint', summary: 'Sign a checkpoint of the audit chain head' })
  @ApiResponse({ status: 200, description: 'The signed checkpoint.', type: AuditCheckpointDto, headers: RATE_LIMIT_HEADERS })
  @ApiErrorResponses(ErrorResponse.AuditUnavailable, AUTHENTICATED_ROUTE_ERRORS)
  async checkpoint(@CurrentCaller() caller: Caller): Promise<AuditCheckpointDto> {
    if (caller.projects !== '*') throw new BffError(403, ErrorCode.Forbidden, 'A checkpoint of the whole chain needs access to every project.');
    return toCheckpointDocument(await this.checkpoints.current());
  }
}

/** A caller sees only the projects it may access; without access to all, it must name one. */
function toAuditQuery(query: ListAuditEventsQueryDto, caller: Caller) {
  if (!query.project_id && caller.projects !== '*') {
    throw validationFailed([{ field: 'project_id', message: 'project_id is required unless the caller may see every project' }]);
  }
  if (query.project_id && !canAccessProject(caller, query.project_id)) {
    throw new BffError(403, ErrorCode.Forbidden, `The caller may not see project ${query.project_id}.`);
  }
  return {
    projectIds: caller.projects === '*' ? ('*' as const) : [...caller.projects],
    projectId: query.project_id,
    actor: query.actor,
    outcome: query.outcome,
    from: query.from,
    to: query.to,
    cursor: query.cursor,
    limit: query.limit ?? 50,
  };
}
