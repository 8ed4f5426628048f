import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MeteredSmnPort } from '../metrics/metered-smn.port';
import { registerCircuitGauge } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { SmnEndpoints } from './smn-endpoints';
import { SmnHttpClient } from './smn-http.client';
import { SmnRequestAuthorizer } from './smn-request-authorizer';
import { SmnPort } from './smn.port';
import { UpstreamResilience } from './upstream-resilience';

/** The SMN port and its HTTP adapter; `HttpService` comes from the global outbound HTTP module. */
@Module({
  providers: [
    SmnEndpoints,
    SmnRequestAuthorizer,
    {
      provide: UpstreamResilience,
      inject: [AppConfig, MetricsService],
      useFactory: (config: AppConfig, metrics: MetricsService) => {
        const resilience = new UpstreamResilience(config.smn.upstream);
        registerCircuitGauge(metrics, resilience);
        return resilience;
      },
    },
    SmnHttpClient,
    { provide: SmnPort, inject: [SmnHttpClient, MetricsService], useFactory: (client: SmnHttpClient, metrics: MetricsService) => new MeteredSmnPort(client, metrics) },
  ],
  exports: [SmnPort, SmnEndpoints, UpstreamResilience],
})
export class SmnModule {}
