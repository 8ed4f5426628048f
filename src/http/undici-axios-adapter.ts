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
  return (config) => send(options, config);
}

async function send(options: UndiciAxiosAdapterOptions, config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
  refuseUnsupported(config);
  const method = (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod;
  const url = absoluteUrl(config);
  // Without the query string: errors and log lines carry this, and a query may carry anything.
  const request: OutboundRequest = { method, url: url.origin + url.pathname };
  const headers = outgoingHeaders(config, options.userAgent, options.tracing);

  const signal = config.signal as AbortSignal | undefined;
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
  config.cancelToken?.subscribe(onAbort);
  const timeoutMs = Number(config.timeout) || options.defaultTimeoutMs;
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
      body: config.data as string | undefined,
      signal: controller.signal,
    });
    status = answer.statusCode;
    const response: AxiosResponse = {
      data: await answer.body.text(),
      status: answer.statusCode,
      statusText: STATUS_CODES[answer.statusCode] ?? '',
      headers: new AxiosHeaders(answer.headers as Record<string, string | string[]>),
      config,
      request,
    };
    if (!config.validateStatus || config.validateStatus(response.status)) return response;
    throw new AxiosError(
      `Request failed with status code ${response.status}`,
      response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
      config,
      request,
      response,
    );
  } catch (error) {
    failure = abortError ?? (error instanceof AxiosError ? error : transportFailure(error, config, request));
    throw failure;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener?.('abort', onAbort);
    config.cancelToken?.unsubscribe(onAbort);
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

function outgoingHeaders(config: InternalAxiosRequestConfig, userAgent: string, tracing?: Tracing): Record<string, string> {
  const headers: Record<string, string> = {};
  let hasUserAgent = false;
  let hasRequestId = false;
  let hasTraceparent = false;
  const given = config.headers ? AxiosHeaders.from(config.headers).toJSON(true) : {};
  for (const [name, value] of Object.entries(given)) {
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
