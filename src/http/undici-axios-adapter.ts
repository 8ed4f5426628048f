import { AxiosError, AxiosHeaders, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { requestContext } from '../common/request-context';
import type { Tracing } from '../tracing/tracing';
import { HttpTimeoutError, OutboundRequest, transportFailure } from './outbound-http.errors';
import { redactHeaders } from './redact-headers';

/**
 * An axios adapter on undici's `dispatcher.request()`: `@nestjs/axios` and axios stay the client API, an
 * undici pool moves the bytes (measured against axios's own adapters in docs/adr/0005).
 *
 * It does what this service's calls need and refuses the rest loudly (`ERR_NOT_SUPPORT`) rather than
 * ignore it: an absolute `url`, `method`, `headers`, a string body (axios has already serialised JSON),
 * `timeout` (headers and body), `signal` and `cancelToken` (the `HttpService` Observables cancel through
 * one when unsubscribed), `validateStatus`, and the answer as text (`responseType` unset,
 * `text` or `json`; axios parses JSON afterwards). Redirects are not followed: a 3xx is returned as it is.
 *
 * Every request gets the user agent and the caller's `x-request-id` unless it sets them, with tracing on the
 * active span's `traceparent` (the SMN attempt's, else the request's) unless it sets one, and a timeout (the
 * call's own or the default). Failures are the typed errors of `outbound-http.errors.ts`;
 * a cancelled `signal` gives axios's `CanceledError`.
 */
export interface UndiciAxiosAdapterOptions {
  dispatcher: Dispatcher;
  userAgent: string;
  defaultTimeoutMs: number;
  logger?: Logger;
  /** Set only when tracing is on. */
  tracing?: Tracing;
}

/** Header names undici sets itself from the body and the URL; a stale value would break the request. */
const MANAGED_HEADERS = new Set(['content-length', 'host', 'connection', 'transfer-encoding', 'keep-alive']);

export function createUndiciAxiosAdapter(options: UndiciAxiosAdapterOptions): AxiosAdapter {
  const send = createOutboundSend(options);
  return async (config) => {
    refuseUnsupported(config);
    const answer = await send(
      {
        method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
        url: absoluteUrl(config),
        headers: config.headers ? (AxiosHeaders.from(config.headers).toJSON(true) as OutboundCall['headers']) : {},
        body: config.data as string | undefined,
        signal: config.signal as AbortSignal | undefined,
        cancelToken: config.cancelToken,
        timeoutMs: Number(config.timeout) || undefined,
      },
      config,
    );
    const response: AxiosResponse = {
      data: answer.body,
      status: answer.status,
      statusText: STATUS_CODES[answer.status] ?? '',
      headers: new AxiosHeaders(answer.headers as Record<string, string | string[]>),
      config,
      request: answer.request,
    };
    if (!config.validateStatus || config.validateStatus(response.status)) return response;
    throw new AxiosError(
      `Request failed with status code ${response.status}`,
      response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
      config,
      answer.request,
      response,
    );
  };
}

/** One outbound request as the transport sends it: an absolute URL, headers, a string body. */
export interface OutboundCall {
  method: Dispatcher.HttpMethod;
  url: URL | string;
  headers: Record<string, string | string[] | number | boolean | null | undefined>;
  body?: string;
  signal?: AbortSignal;
  /** Cancels like `signal` (the `HttpService` Observables cancel through one). */
  cancelToken?: InternalAxiosRequestConfig['cancelToken'];
  /** Headers and body; the transport's default when unset. */
  timeoutMs?: number;
}

/** The answer, any status: the body as text, header names lower-case as undici gives them. */
export interface OutboundAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** What identifies the request in errors and log lines (no query string). */
  request: OutboundRequest;
}

export type OutboundSend = (call: OutboundCall, config?: InternalAxiosRequestConfig) => Promise<OutboundAnswer>;

/**
 * The transport's one way to send: the user agent, the caller's request id, the `traceparent`, the timeout,
 * cancellation, typed failures and the redacted debug line are added here, for axios's callers (through the
 * adapter above) and for the SMN client's hot path alike, which calls it without axios's per-call config merging
 * (docs/performance.md, GET path). `config` is only what the typed errors carry for axios's callers.
 */
export function createOutboundSend(options: UndiciAxiosAdapterOptions): OutboundSend {
  return (call, config) => send(options, call, config);
}

async function send(options: UndiciAxiosAdapterOptions, call: OutboundCall, config?: InternalAxiosRequestConfig): Promise<OutboundAnswer> {
  const method = call.method;
  const url = typeof call.url === 'string' ? new URL(call.url) : call.url;
  // Without the query string: errors and log lines carry this, and a query may carry anything.
  const request: OutboundRequest = { method, url: url.origin + url.pathname };
  const headers = outgoingHeaders(call.headers, options.userAgent, options.tracing);

  const signal = call.signal;
  if (signal?.aborted) throw new CanceledError(undefined, config, request);
  const controller = new AbortController();
  let abortError: AxiosError | undefined;
  const abort = (error: AxiosError) => {
    if (abortError) return;
    abortError = error;
    controller.abort(error);
  };
  const onAbort = () => abort(new CanceledError(undefined, config, request));
  signal?.addEventListener?.('abort', onAbort);
  call.cancelToken?.subscribe(onAbort);
  const timeoutMs = call.timeoutMs || options.defaultTimeoutMs;
  const timer = setTimeout(() => abort(new HttpTimeoutError(timeoutMs, config, request)), timeoutMs);
  const logger = options.logger?.isLevelEnabled('debug') ? options.logger : undefined;
  const started = logger ? performance.now() : 0;
  let status: number | undefined;
  let failure: AxiosError | undefined;

  try {
    const answer = await options.dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      body: call.body,
      signal: controller.signal,
    });
    status = answer.statusCode;
    return { status: answer.statusCode, headers: answer.headers, body: await answer.body.text(), request };
  } catch (error) {
    failure = abortError ?? (error instanceof AxiosError ? error : transportFailure(error, timeoutMs, request, config));
    throw failure;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener?.('abort', onAbort);
    call.cancelToken?.unsubscribe(onAbort);
    logger?.debug(
      { outbound: { method, url: request.url, status, error: failure?.code, ms: Math.round(performance.now() - started), headers: redactHeaders(headers) } },
      'outbound request',
    );
  }
}

function refuseUnsupported(config: InternalAxiosRequestConfig): void {
  const data = config.data as unknown;
  const unsupported = config.params
    ? 'params (put the query in the url)'
    : config.auth
      ? 'auth'
      : config.responseType && config.responseType !== 'text' && config.responseType !== 'json'
        ? `responseType "${config.responseType}"`
        : data !== undefined && data !== null && typeof data !== 'string'
          ? 'a body other than a string'
          : (config.maxContentLength ?? -1) > -1
            ? 'maxContentLength'
            : undefined;
  if (unsupported) throw new AxiosError(`the undici axios adapter does not support ${unsupported}`, AxiosError.ERR_NOT_SUPPORT, config);
}

function absoluteUrl(config: InternalAxiosRequestConfig): URL {
  if (!config.baseURL && config.url && URL.canParse(config.url)) return new URL(config.url);
  throw new AxiosError(`the undici axios adapter needs an absolute url without baseURL`, AxiosError.ERR_INVALID_URL, config);
}

function outgoingHeaders(given: OutboundCall['headers'], userAgent: string, tracing?: Tracing): Record<string, string> {
  const headers: Record<string, string> = {};
  let hasUserAgent = false;
  let hasRequestId = false;
  let hasTraceparent = false;
  for (const name in given) {
    const value = given[name];
    const lower = name.toLowerCase();
    if (value === undefined || value === null || MANAGED_HEADERS.has(lower)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    hasUserAgent ||= lower === 'user-agent';
    hasRequestId ||= lower === 'x-request-id';
    hasTraceparent ||= lower === 'traceparent';
  }
  if (!hasUserAgent) headers['user-agent'] = userAgent;
  const requestId = hasRequestId ? undefined : requestContext.current()?.requestId;
  if (requestId) headers['x-request-id'] = requestId;
  if (tracing && !hasTraceparent) tracing.inject(headers);
  return headers;
}
