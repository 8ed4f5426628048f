import { HttpService } from '@nestjs/axios';
import { OnApplicationShutdown } from '@nestjs/common';
import axios from 'axios';
import { Agent, Dispatcher, EnvHttpProxyAgent } from 'undici';
import { OutboundHttpOptions, OutboundProxyConfig, USER_AGENT } from './outbound-http.options';
import { createOutboundSend, createUndiciAxiosAdapter, OutboundSend, UndiciAxiosAdapterOptions } from './undici-axios-adapter';

const DEFAULT_CONNECTIONS = 64;
const DEFAULT_TIMEOUT_MS = 10_000;
/** Idle keep-alive time when the server sends no `Keep-Alive: timeout=` hint. */
const KEEP_ALIVE_MS = 4_000;

/**
 * The one outbound HTTP transport of the process (ADR 0005): an undici dispatcher with one keep-alive pool
 * per origin, behind the proxy settings when there are any, and the `HttpService` that SMN, IAM and the
 * JWKS client call. Closed on shutdown, after in-flight requests.
 */
export class OutboundTransport implements OnApplicationShutdown {
  readonly dispatcher: Dispatcher;
  readonly http: HttpService;
  /**
   * The same requests without axios: what `http` does per call (user agent, request id, trace context, timeout,
   * typed failures, debug line), minus axios's config merging, for the SMN client's hot path.
   */
  readonly send: OutboundSend;
  private closing?: Promise<void>;

  constructor(options: OutboundHttpOptions = {}) {
    this.dispatcher = createDispatcher(options);
    const sending: UndiciAxiosAdapterOptions = {
      dispatcher: this.dispatcher,
      userAgent: USER_AGENT,
      defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      logger: options.logger,
      tracing: options.tracing?.enabled ? options.tracing : undefined,
    };
    this.send = createOutboundSend(sending);
    const adapter = createUndiciAxiosAdapter(sending);
    // No upstream of this service redirects; a 3xx comes back as it is. Proxying is the dispatcher's.
    this.http = new HttpService(axios.create({ adapter, maxRedirects: 0, proxy: false }));
    if (options.proxy) options.logger?.info({ outboundProxy: describeProxy(options.proxy) }, 'outbound requests use a proxy');
  }

  close(): Promise<void> {
    return (this.closing ??= this.dispatcher.close());
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

function createDispatcher(options: OutboundHttpOptions): Dispatcher {
  const pool = { connections: options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS, keepAliveTimeout: KEEP_ALIVE_MS, pipelining: 1 };
  const proxy = options.proxy;
  if (!proxy?.httpProxy && !proxy?.httpsProxy) return new Agent(pool);
  // Empty strings, not undefined: undici falls back to process.env for an option left undefined, and the
  // configuration is read in one place only. CONNECT tunnels for every target (undici's default).
  return new EnvHttpProxyAgent({ ...pool, httpProxy: proxy.httpProxy ?? '', httpsProxy: proxy.httpsProxy ?? '', noProxy: proxy.noProxy ?? '' });
}

/** For the start-up log line: hosts only, never the credentials a proxy URL may carry. */
function describeProxy(proxy: OutboundProxyConfig): Record<string, string> {
  const host = (url: string | undefined) => (url ? new URL(url).host : 'none');
  return { http: host(proxy.httpProxy), https: host(proxy.httpsProxy ?? proxy.httpProxy), noProxy: proxy.noProxy ?? '' };
}
