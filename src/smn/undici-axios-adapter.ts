import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import axios, { AxiosError, AxiosHeaders, AxiosResponse, CanceledError, InternalAxiosRequestConfig } from 'axios';
import { Agent, Dispatcher } from 'undici';

/**
 * An axios adapter on undici: `@nestjs/axios` and axios stay the client API, undici's keep-alive pool
 * moves the bytes. axios's own http adapter builds a `ClientRequest` with its streams and events per
 * call; with `dispatcher.request()` a GET through the whole BFF costs 31% less CPU (docs/performance.md).
 *
 * Supported: absolute `url` (or `baseURL` + `url`, `params`), `method`, `headers`, `data` as string,
 * Buffer/Uint8Array, ArrayBuffer, URLSearchParams or Readable, `auth`, `timeout` (whole request,
 * headers and body → AxiosError `ECONNABORTED`, or `ETIMEDOUT` with `transitional.clarifyTimeoutError`;
 * with `responseType: 'stream'` it stops at the headers), `signal`/`cancelToken` (→ `CanceledError`,
 * `ERR_CANCELED`), `validateStatus`, `responseType` (`text`/`json`/default → string, `arraybuffer` →
 * Buffer, `stream` → the body stream), `responseEncoding`, `maxContentLength`. Network errors become
 * AxiosErrors with the cause's code (`ECONNREFUSED`, `ECONNRESET`, …) and the undici error as `cause`.
 * Not supported (ignored): redirects (3xx are returned as they are, like `maxRedirects: 0`),
 * `httpAgent`/`httpsAgent`/`proxy` (the dispatcher is the pool), decompression (no `Accept-Encoding`
 * is added, so servers answer uncompressed), upload/download progress.
 */
export interface UndiciAxiosAdapter {
  (config: InternalAxiosRequestConfig): Promise<AxiosResponse>;
  /** The dispatcher requests go through. */
  readonly dispatcher: Dispatcher;
  /** Closes the pool if the adapter created it (lets in-flight requests finish). */
  close(): Promise<void>;
}

export interface UndiciAxiosAdapterOptions {
  /** Use this dispatcher instead of creating an Agent; `close()` then leaves it open. */
  dispatcher?: Dispatcher;
  /** Keep-alive connections per origin (like an http.Agent's `maxSockets`). Default 64. */
  connections?: number;
  /** Idle keep-alive time when the server sends no `Keep-Alive: timeout=` hint. Default 4000 ms. */
  keepAliveTimeout?: number;
}

/** Header names undici sets itself from the body and the URL; a stale value would break the request. */
const MANAGED_HEADERS = new Set(['content-length', 'host', 'connection', 'transfer-encoding', 'keep-alive']);
const ABSOLUTE_URL = /^[a-z][a-z\d+\-.]*:\/\//i;

export function createUndiciAdapter(options: UndiciAxiosAdapterOptions = {}): UndiciAxiosAdapter {
  const owned = !options.dispatcher;
  const dispatcher =
    options.dispatcher ??
    new Agent({ connections: options.connections ?? 64, keepAliveTimeout: options.keepAliveTimeout ?? 4_000, pipelining: 1 });
  const adapter = ((config: InternalAxiosRequestConfig) => send(dispatcher, config)) as UndiciAxiosAdapter;
  Object.defineProperty(adapter, 'dispatcher', { value: dispatcher, enumerable: true });
  let closing: Promise<void> | undefined;
  adapter.close = () => (owned ? (closing ??= dispatcher.close()) : Promise.resolve());
  return adapter;
}

async function send(dispatcher: Dispatcher, config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
  const method = (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod;
  const url = new URL(fullUrl(config));
  // What AxiosError.request carries: there is no ClientRequest, so the facts that identify the request.
  const request = { method, url: url.href };
  const headers = outgoingHeaders(config);
  const body = requestBody(config.data, config, request);

  const controller = new AbortController();
  let abortError: AxiosError | undefined;
  const abort = (error: AxiosError) => {
    if (abortError) return;
    abortError = error;
    controller.abort(error);
  };
  const onCancel = (reason?: unknown) => {
    const message = reason && typeof reason === 'object' && 'message' in reason ? String(reason.message) : undefined;
    abort(new CanceledError(message || undefined, config, request));
  };
  const signal = config.signal as AbortSignal | undefined;
  if (signal?.aborted) throw new CanceledError(undefined, config, request);
  const onAbort = () => onCancel();
  signal?.addEventListener?.('abort', onAbort);
  config.cancelToken?.subscribe(onCancel);
  const timeout = Number(config.timeout) || 0;
  const timer = timeout > 0 ? setTimeout(() => abort(timeoutError(config, request, timeout)), timeout) : undefined;
  const cleanup = () => {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener?.('abort', onAbort);
    config.cancelToken?.unsubscribe(onCancel);
  };

  try {
    const answer = await dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      body,
      signal: controller.signal,
    });
    const response: AxiosResponse = {
      data: undefined,
      status: answer.statusCode,
      statusText: STATUS_CODES[answer.statusCode] ?? '',
      headers: new AxiosHeaders(answer.headers as Record<string, string | string[]>),
      config,
      request,
    };
    if (config.responseType === 'stream') {
      response.data = answer.body;
    } else {
      const bytes = await readBody(answer.body, config, request, response);
      response.data = config.responseType === 'arraybuffer' ? bytes : bytes.toString((config.responseEncoding as BufferEncoding) || 'utf8');
    }
    const validateStatus = config.validateStatus;
    if (!response.status || !validateStatus || validateStatus(response.status)) return response;
    throw new AxiosError(
      `Request failed with status code ${response.status}`,
      response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
      config,
      request,
      response,
    );
  } catch (error) {
    if (abortError) throw abortError;
    if (error instanceof AxiosError) throw error;
    throw AxiosError.from(error as Error, networkCode(error), config, request);
  } finally {
    cleanup();
  }
}

function fullUrl(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  // The common case (an absolute URL, no params) skips axios's config merge in getUri().
  if (!config.params && (!config.baseURL || (ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false))) return url;
  return axios.getUri({
    url: config.url,
    baseURL: config.baseURL,
    params: config.params,
    paramsSerializer: config.paramsSerializer,
    allowAbsoluteUrls: config.allowAbsoluteUrls,
  });
}

function outgoingHeaders(config: InternalAxiosRequestConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  const given = config.headers ? AxiosHeaders.from(config.headers).toJSON(true) : {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || value === null || MANAGED_HEADERS.has(name.toLowerCase())) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  if (config.auth) {
    const { username = '', password = '' } = config.auth;
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return headers;
}

function requestBody(data: unknown, config: InternalAxiosRequestConfig, request: object): Dispatcher.DispatchOptions['body'] {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string' || Buffer.isBuffer(data) || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (data instanceof URLSearchParams) return data.toString();
  if (typeof (data as Readable).pipe === 'function') return data as Readable;
  throw new AxiosError('Data after transformation must be a string, a Buffer, an ArrayBuffer or a Stream', AxiosError.ERR_BAD_REQUEST, config, request);
}

async function readBody(body: Dispatcher.ResponseData['body'], config: InternalAxiosRequestConfig, request: object, response: AxiosResponse): Promise<Buffer> {
  const limit = config.maxContentLength ?? -1;
  if (limit < 0) return Buffer.from(await body.arrayBuffer());
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      body.destroy();
      throw new AxiosError(`maxContentLength size of ${limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, request, response);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}

function timeoutError(config: InternalAxiosRequestConfig, request: object, timeout: number): AxiosError {
  const message = config.timeoutErrorMessage || `timeout of ${timeout}ms exceeded`;
  const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return new AxiosError(message, code, config, request);
}

/** undici's own codes, translated to the Node socket codes callers of axios already handle. */
function networkCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  switch (code) {
    case undefined:
      return AxiosError.ERR_NETWORK;
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      // "other side closed": what Node's http client reports as "socket hang up", ECONNRESET.
      return typeof e.cause?.code === 'string' && !e.cause.code.startsWith('UND_') ? e.cause.code : 'ECONNRESET';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return AxiosError.ETIMEDOUT;
    default:
      return code;
  }
}
