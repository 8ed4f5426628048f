import { AxiosError, type InternalAxiosRequestConfig } from 'axios';

/**
 * Transport failures of outbound requests, typed. Both are `AxiosError`s (callers of `HttpService` see the
 * axios contract: `isAxiosError`, `code`), and both keep the transport's own error as `cause`.
 */

/** What `AxiosError.request` carries: there is no `ClientRequest`, so the facts that identify the request. */
export interface OutboundRequest {
  method: string;
  url: string;
}

/** The code of a proxy that answered CONNECT with something other than 200. */
export const PROXY_TUNNEL_REFUSED = 'ERR_PROXY_TUNNEL';

/** Codes that prove the request never left this process: nothing can have been applied upstream. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', PROXY_TUNNEL_REFUSED]);

/** No complete answer within the time allowed. The request may have been received and processed. */
export class HttpTimeoutError extends AxiosError {
  constructor(timeoutMs: number, config?: InternalAxiosRequestConfig, request?: OutboundRequest, cause?: unknown) {
    super(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ETIMEDOUT, config, request);
    this.name = 'HttpTimeoutError';
    if (cause !== undefined) this.cause = cause as Error;
  }
}

/**
 * The connection failed: refused, unknown host, unreachable, reset, closed early, a proxy that refused the
 * tunnel. `code` is the socket's (`ECONNREFUSED`, `ECONNRESET`, …) or `ERR_PROXY_TUNNEL`.
 */
export class HttpConnectionError extends AxiosError {
  /** True when the failure proves the request was never sent (refused, unresolvable, unreachable, no tunnel). */
  readonly neverSent: boolean;

  constructor(code: string, message: string, config?: InternalAxiosRequestConfig, request?: OutboundRequest, cause?: unknown) {
    super(message, code, config, request);
    this.name = 'HttpConnectionError';
    this.neverSent = NEVER_SENT.has(code);
    if (cause !== undefined) this.cause = cause as Error;
  }
}

/** Whether `error` (a transport error, or anything else) proves that its request never left this process. */
export function neverSent(error: unknown): boolean {
  if (error instanceof HttpConnectionError) return error.neverSent;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NEVER_SENT.has(code);
}

/**
 * undici's failure, as a typed error. undici reports socket errors with Node's codes (`ECONNREFUSED`, …) and
 * its own failures as `UND_ERR_*`; these become the Node codes callers of axios already handle.
 */
export function transportFailure(error: unknown, timeoutMs: number, request: OutboundRequest, config?: InternalAxiosRequestConfig): AxiosError {
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new HttpTimeoutError(timeoutMs, config, request, error);
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED': {
      // "other side closed": what Node's http client reports as "socket hang up", ECONNRESET.
      const inner = e?.cause?.code;
      return new HttpConnectionError(typeof inner === 'string' && !inner.startsWith('UND_') ? inner : 'ECONNRESET', message, config, request, error);
    }
    case 'UND_ERR_ABORTED':
      // The proxy answered CONNECT with something other than 200: no tunnel, nothing was sent.
      if (/^Proxy response \(\d+\)/.test(message)) return new HttpConnectionError(PROXY_TUNNEL_REFUSED, message, config, request, error);
      return new HttpConnectionError(code, message, config, request, error);
    case undefined:
      return new HttpConnectionError(AxiosError.ERR_NETWORK, message, config, request, error);
    default:
      return new HttpConnectionError(code, message, config, request, error);
  }
}
