import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SmnEndpoints } from './smn-endpoints';
import { SmnHttpClient } from './smn-http.client';
import { SmnRequestAuthorizer } from './smn-request-authorizer';
import { SmnPort } from './smn.port';
import { IAM_RESILIENCE, UpstreamResilience } from './upstream-resilience';

export interface SmnModuleOptions {
  /**
   * Wraps the HTTP adapter (e.g. with metrics), given the providers named in `wrapInject`. The composition
   * root decides what wraps the port; the SMN module knows nothing of it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrapPort?: (port: SmnPort, ...args: any[]) => SmnPort;
  wrapInject?: InjectionToken[];
}

/**
 * The SMN port and its HTTP adapter; `HttpService` comes from the global outbound HTTP module. Global: the
 * feature and readiness both use the one port and its breakers.
 */
@Module({})
export class SmnModule {
  static forRoot(options: SmnModuleOptions = {}): DynamicModule {
    return {
      module: SmnModule,
      global: true,
      providers: [
        SmnEndpoints,
        SmnRequestAuthorizer,
        { provide: UpstreamResilience, inject: [AppConfig], useFactory: (config: AppConfig) => new UpstreamResilience(config.smn.upstream) },
        // IAM's own breaker and retries, with SMN's numbers (token mode only calls it; cheap otherwise: no policy until a call).
        { provide: IAM_RESILIENCE, inject: [AppConfig], useFactory: (config: AppConfig) => new UpstreamResilience(config.smn.upstream, 'IAM') },
        SmnHttpClient,
        {
          provide: SmnPort,
          inject: [SmnHttpClient, ...(options.wrapInject ?? [])],
          useFactory: (client: SmnHttpClient, ...wrapArgs: unknown[]) => (options.wrapPort ? options.wrapPort(client, ...wrapArgs) : client),
        },
      ],
      exports: [SmnPort, SmnEndpoints, UpstreamResilience, IAM_RESILIENCE],
    };
  }
}
