import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TracingConfig } from '../config/app-config';
import { Tracing } from './tracing';

/**
 * Makes the one `Tracing` injectable everywhere (the SMN adapter, the outbound transport, the audit service); the
 * request hooks get it from the app (common/http-setup.ts). The SDK is loaded only when tracing is on, so a start
 * without it loads none of OpenTelemetry's SDK packages.
 */
@Module({})
export class TracingModule {
  static forRoot(config: TracingConfig, logger?: Logger): DynamicModule {
    return {
      module: TracingModule,
      global: true,
      providers: [{ provide: Tracing, useFactory: () => createTracing(config, logger) }],
      exports: [Tracing],
    };
  }
}

export async function createTracing(config: TracingConfig, logger?: Logger): Promise<Tracing> {
  const { tracesUrl } = config;
  if (!tracesUrl) return Tracing.DISABLED;
  const { startTracerProvider } = await import('./tracer-provider');
  return new Tracing(startTracerProvider({ ...config, tracesUrl }, logger));
}
