import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ShutdownState } from './shutdown-state';
import { AuditHealthIndicator } from '../audit/audit.health';
import { UpstreamHealthIndicator } from './upstream.health';

@ApiExcludeController()
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
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Worth sending traffic to: not shutting down, the audit store answers, SMN configured (open circuits are reported only). */
  @Get('ready')
  @HealthCheck()
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
