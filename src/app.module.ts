import { DynamicModule, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { OutboundHttpModule } from './http/outbound-http.module';
import { MetricsModule } from './metrics/metrics.module';
import { SmsCallbackModule } from './sms-callback/sms-callback.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        OutboundHttpModule.forRoot({
          proxy: config.http.outboundProxy,
          connectionsPerOrigin: config.smn.upstream.maxSockets,
          logger: logger.child({ context: 'OutboundHttp' }),
        }),
        MetricsModule,
        AuthModule.forRoot(config.auth, config.rateLimit),
        AuditModule.forRoot({
          useFactory: () => ({
            ...config.audit,
            // Unique per process life: a restarted container keeps its hostname and often its pid (1).
            instanceId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
            logger,
          }),
        }),
        SmsCallbackModule,
        HealthModule,
      ],
    };
  }
}
