import { DynamicModule, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AuditModule } from './audit/audit.module';
import type { AuditStore } from './audit/audit.store';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { LoggingModule } from './common/logging.module';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { OutboundHttpModule } from './http/outbound-http.module';
import { MeteredAuditStore } from './metrics/audit-store.metrics';
import { MeteredSmnPort } from './metrics/smn-port.metrics';
import { MetricsModule } from './metrics/metrics.module';
import { MetricsService } from './metrics/metrics.service';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { REQUEST_GUARDS } from './request-guards';
import { SmnModule } from './smn/smn.module';
import type { SmnPort } from './smn/smn.port';
import { SmsCallbackModule } from './sms-callback/sms-callback.module';
import { TracingModule } from './tracing/tracing.module';

/** The composition root: every module, the request guards in their order, and the wrappers of the ports. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        TracingModule.forRoot(config.tracing, logger),
        OutboundHttpModule.forRoot({
          proxy: config.http.outboundProxy,
          connectionsPerOrigin: config.smn.upstream.maxSockets,
          logger: logger.child({ context: 'OutboundHttp' }),
        }),
        MetricsModule,
        AuthModule.forRoot(config.auth),
        RateLimitModule.forRoot(config.rateLimit),
        AuditModule.forRoot({
          useFactory: () => ({
            ...config.audit,
            // Unique per process life: a restarted container keeps its hostname and often its pid (1).
            instanceId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          }),
          wrapStore: (store: AuditStore, metrics: MetricsService) => new MeteredAuditStore(store, metrics),
          wrapInject: [MetricsService],
        }),
        SmnModule.forRoot({
          wrapPort: (port: SmnPort, metrics: MetricsService) => new MeteredSmnPort(port, metrics),
          wrapInject: [MetricsService],
        }),
        SmsCallbackModule,
        HealthModule,
      ],
      providers: REQUEST_GUARDS,
    };
  }
}
