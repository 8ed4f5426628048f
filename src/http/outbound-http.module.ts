import { HttpService } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import type { OutboundHttpOptions } from './outbound-http.options';
import { OutboundTransport } from './outbound-transport';

/**
 * The one outbound HTTP module (ADR 0005), global: SMN, IAM and the JWKS client inject `HttpService` from
 * here and get the same transport, proxy settings, timeouts, user agent, request id, redacted debug lines
 * and typed transport errors. Registered once, by the composition root.
 */
@Module({})
export class OutboundHttpModule {
  static forRoot(options: OutboundHttpOptions = {}): DynamicModule {
    return {
      module: OutboundHttpModule,
      global: true,
      providers: [
        { provide: OutboundTransport, useFactory: () => new OutboundTransport(options) },
        { provide: HttpService, inject: [OutboundTransport], useFactory: (transport: OutboundTransport) => transport.http },
      ],
      exports: [HttpService, OutboundTransport],
    };
  }
}
