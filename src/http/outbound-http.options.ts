import type { Logger } from 'pino';
import type { Tracing } from '../tracing/tracing';

/**
 * Where outbound requests go through a forward proxy. Read from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` by
 * `src/config/` only; the transport never looks at the environment itself.
 */
export interface OutboundProxyConfig {
  /** Proxy URL for `http://` targets (and `https://` ones when `httpsProxy` is unset). */
  httpProxy?: string;
  /** Proxy URL for `https://` targets. */
  httpsProxy?: string;
  /**
   * Targets reached directly: comma- or space-separated host names (a name also matches its subdomains,
   * a leading `.` or `*.` is ignored), optionally with `:port`; `*` turns the proxy off.
   */
  noProxy?: string;
}

export interface OutboundHttpOptions {
  /** Unset: every request goes direct. */
  proxy?: OutboundProxyConfig;
  /** Keep-alive connections per origin (each origin has its own pool). Default 64. */
  connectionsPerOrigin?: number;
  /** For a call that sets no `timeout`: no outbound request waits for ever. Default 10 s. */
  defaultTimeoutMs?: number;
  /** Receives one redacted `debug` line per outbound request; none when absent. */
  logger?: Logger;
  /** When enabled, every request carries the active span's `traceparent` (W3C Trace Context). */
  tracing?: Tracing;
}

export const USER_AGENT = 'sms-callback-bff/0.1';
