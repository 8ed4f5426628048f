import { HttpService } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import axios from 'axios';
import { AppConfig } from '../config/app-config';
import { MeteredSmnPort } from '../metrics/metered-smn.port';
import { registerCircuitGauge } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { SmnEndpoints } from './smn-endpoints';
import { SmnHttpClient } from './smn-http.client';
import { SmnRequestAuthorizer } from './smn-request-authorizer';
import { SmnPort } from './smn.port';
import { UpstreamAgents } from './upstream-agents';
import { UpstreamResilience } from './upstream-resilience';

@Module({
  providers: [
    UpstreamAgents,
    {
      provide: HttpService,
      inject: [UpstreamAgents],
      // SMN's callback API never redirects; the undici adapter returns a 3xx as it is.
      useFactory: (agents: UpstreamAgents) => new HttpService(axios.create({ adapter: agents.adapter, maxRedirects: 0, proxy: false })),
    },
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
