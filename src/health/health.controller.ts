import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ShutdownState } from './shutdown-state';
import { AuditHealthIndicator } from '../audit/audit.health';
import { CIRCUIT_OPEN_CHECKS, healthReportSchema, READY_CHECKS } from './health-report.schema';
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
  // Terminus's own documentation lists checks that are not ours.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness', security: [] })
  @ApiResponse({ status: 200, description: 'The process answers.', schema: healthReportSchema(['ok'], {}) })
  @ApiResponse({
    status: 503,
    description: 'Shutting down: in-flight requests finish, new ones go elsewhere.',
    schema: healthReportSchema(['shutting_down'], {}),
  })
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.report(reply, []);
  }

  /** Worth sending traffic to: not shutting down, the audit store answers, SMN configured (open circuits are reported only). */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness', security: [] })
  @ApiResponse({ status: 200, description: 'Ready: every check is up.', schema: healthReportSchema(['ok'], READY_CHECKS) })
  @ApiResponse({
    status: 503,
    description: 'Not ready: shutting down, the audit store does not answer, or no SMN project or an open circuit; `error` says which.',
    schema: healthReportSchema(['error', 'shutting_down'], CIRCUIT_OPEN_CHECKS),
  })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.report(reply, [() => this.shutdown.check(), () => this.audit.check(), () => this.upstream.check()]);
  }

  /**
   * Terminus reports a failed check, and any check once shutdown began, as a 503 exception: its report is the
   * body, not the error envelope (which would make it a 500).
   */
  private async report(reply: FastifyReply, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
