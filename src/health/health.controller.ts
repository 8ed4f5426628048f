import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ShutdownState } from './shutdown-state';
import { AuditHealthIndicator } from '../audit/audit.health';
import { healthReportSchema } from './health-report.schema';
import { UpstreamHealthIndicator } from './upstream.health';

@ApiTags('Operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly upstream: UpstreamHealthIndicator,
    private readonly shutdown: ShutdownState,
    private readonly audit: AuditHealthIndicator,
  ) {}

  /** The process answers; no dependency is checked (a restart would not cure them). */
  @Get('live')
  // Terminus's own documentation lists a 503 liveness never gives, and checks that are not ours.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness', security: [] })
  @ApiResponse({ status: 200, description: 'The process answers.', schema: healthReportSchema('ok') })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Worth sending traffic to: not shutting down, the audit store answers, upstream configured and its circuit closed. */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness', security: [] })
  @ApiResponse({ status: 200, description: 'Ready: every check is up.', schema: healthReportSchema('ok') })
  @ApiResponse({
    status: 503,
    description: 'Not ready: shutting down, the audit store does not answer, or no SMN project or an open circuit; `error` says which.',
    schema: healthReportSchema('error'),
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    try {
      return await this.health.check([() => this.shutdown.check(), () => this.audit.check(), () => this.upstream.check()]);
    } catch (error) {
      // Terminus reports failure as a 503 exception; keep its detailed body instead of the error envelope.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
