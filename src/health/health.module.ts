import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditHealthIndicator } from '../audit/audit.health';
import { HealthController } from './health.controller';
import { ShutdownState } from './shutdown-state';
import { UpstreamHealthIndicator } from './upstream.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [UpstreamHealthIndicator, AuditHealthIndicator, ShutdownState],
})
export class HealthModule {}
