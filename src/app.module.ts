import { DynamicModule, Module } from '@nestjs/common';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { SmsCallbackModule } from './sms-callback/sms-callback.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        AuthModule.forRoot(config.auth, config.rateLimit),
        AuditModule.forRoot({
          useFactory: () => ({
            ...config.audit,
            instanceId: `${hostname()}:${process.pid}`,
            logger,
          }),
        }),
        SmsCallbackModule,
        HealthModule,
      ],
    };
  }
}
