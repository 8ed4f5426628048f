import { HttpService } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import type { OutboundHttpOptions } from './outbound-http.options';
import { Tracing } from '../tracing/tracing';
import { OutboundTransport } from './outbound-transport';

/**
 * The one outbound HTTP module (ADR 0005), global: SMN, IAM and the JWKS client inject `HttpService` from
 * here and get the same transport, proxy settings, timeouts, user agent, request id, redacted debug lines
 * and typed transport errors, and the active span's `traceparent` when tracing is on. Registered once, by the
 * composition root.
 */
@Module({})
export class OutboundHttpModule {
  static forRoot(options: OutboundHttpOptions = {}): DynamicModule {
    return {
      module: OutboundHttpModule,
      global: true,
      providers: [
        {
          provide: OutboundTransport,
          // Optional: an app built without the tracing module (some tests) sends no trace context.
          inject: [{ token: Tracing, optional: true }],
          useFactory: (tracing?: Tracing) => new OutboundTransport({ tracing, ...options }),
        },
        { provide: HttpService, inject: [OutboundTransport], useFactory: (transport: OutboundTransport) => transport.http },
      ],
      exports: [HttpService, OutboundTransport],
    };
  }
}
