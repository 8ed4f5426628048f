import { Injectable, Optional } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { isAxiosError, isCancel } from 'axios';
import { BffError } from '../common/bff-error';
import { AppConfig } from '../config/app-config';
import { HttpTimeoutError, neverSent } from '../http/outbound-http.errors';
import { OutboundTransport } from '../http/outbound-transport';
import type { OutboundAnswer } from '../http/undici-axios-adapter';
import { markFailed, TraceAttribute, Tracing } from '../tracing/tracing';
import { SmnEndpoints } from './smn-endpoints';
import { IamTokenError, SmnAuthFailedError, SmnRejectedError, SmnThrottledError, SmnTimeoutError, SmnUnavailableError } from './smn.errors';
import { SMS_EVENT_TYPES, SmnCallOptions, SmnPort, SmnWriteResult, SmsCallback, SmsCallbackList, SmsEventType } from './smn.port';
import { SmnRequestAuthorizer } from './smn-request-authorizer';
import { UpstreamResilience } from './upstream-resilience';

/** One operation's attempts as its spans number them; only with tracing on. */
interface TracedCall {
  operation: string;
  /** 0 for the first attempt, then the retry's number. */
  retry: number;
  /** Requests sent so far (retries and the resend after an IAM token refresh). */
  sent: number;
}

/** A settled upstream answer: status, SMN request id, and the parsed JSON body (undefined when not JSON). */
interface UpstreamAnswer {
  status: number;
  requestId?: string;
  body: unknown;
}

/**
 * The SMN port over HTTP: `@nestjs/axios` on the outbound HTTP module (which adds the user agent and the
 * request id, and types transport failures), our signer, cockatiel policies. With tracing on, every request
 * sent is a CLIENT span (each retry its own), active while it is sent, so its `traceparent` goes to SMN.
 */
@Injectable()
export class SmnHttpClient extends SmnPort {
  constructor(
    private readonly transport: OutboundTransport,
    private readonly endpoints: SmnEndpoints,
    private readonly authorizer: SmnRequestAuthorizer,
    private readonly resilience: UpstreamResilience,
    private readonly config: AppConfig,
    @Optional() private readonly tracing: Tracing = Tracing.DISABLED,
  ) {
    super();
  }

  async listSmsCallbacks(projectId: string, eventType?: SmsEventType, options: SmnCallOptions = {}): Promise<SmsCallbackList> {
    const query = eventType ? `?event_type=${encodeURIComponent(eventType)}` : '';
    const answer = await this.call('GET', projectId, `${callbackPath(projectId)}${query}`, undefined, options.signal);
    const body = answer.body as { request_id?: unknown; callback?: unknown };
    if (typeof body?.request_id !== 'string' || !Array.isArray(body.callback) || !body.callback.every(isWireCallback)) {
      throw malformed(answer);
    }
    return {
      requestId: body.request_id,
      callbacks: body.callback.map((c) => ({ eventType: c.event_type, topicUrn: c.topic_urn })),
    };
  }

  async updateSmsCallbacks(projectId: string, callbacks: SmsCallback[], options: SmnCallOptions = {}): Promise<SmnWriteResult> {
    const body = JSON.stringify({ callback: callbacks.map((c) => ({ event_type: c.eventType, topic_urn: c.topicUrn })) });
    // Whether any attempt may have reached SMN without a well-formed answer: then nobody knows if it applied.
    let mayHaveApplied = false;
    const noteFailure = (error: unknown) => (mayHaveApplied ||= mayHaveReachedSmn(error));
    let answer: UpstreamAnswer;
    try {
      answer = await this.call('PUT', projectId, callbackPath(projectId), body, options.signal, noteFailure);
    } catch (error) {
      throw mayHaveApplied ? withUnknownOutcome(error) : error;
    }
    const requestId = (answer.body as { request_id?: unknown })?.request_id;
    // A 2xx whose body is unreadable: SMN took the request, and what it did is not known.
    if (typeof requestId !== 'string') throw withUnknownOutcome(malformed(answer));
    return { requestId };
  }

  /** One operation on the project's regional endpoint: `path` (with its query) is the operation's own. */
  private async call(
    method: 'GET' | 'PUT',
    projectId: string,
    path: string,
    body?: string,
    outer?: AbortSignal,
    onAttemptFailed?: (error: unknown) => void,
  ): Promise<UpstreamAnswer> {
    const region = this.endpoints.regionOf(projectId);
    if (!region) throw new Error(`project ${projectId} has no configured region`); // the service checks first
    const baseUrl = this.endpoints.baseUrlFor(region);
    const url = `${baseUrl}${path}`;
    const operation = method === 'GET' ? 'listSmsCallbacks' : 'updateSmsCallbacks';
    const traced: TracedCall | undefined = this.tracing.enabled ? { operation, retry: -1, sent: 0 } : undefined;

    return this.resilience.execute(
      baseUrl,
      async (signal) => {
        if (traced) traced.retry++;
        try {
          let sent = await this.send(method, url, projectId, body, signal, traced);
          // An IAM token that SMN no longer accepts is dropped and replaced, once.
          if (sent.response.status === 401 && this.authorizer.refreshAfterRejection(projectId, sent.headers)) {
            sent = await this.send(method, url, projectId, body, signal, traced);
          }
          return this.interpret(sent.response);
        } catch (error) {
          onAttemptFailed?.(error);
          throw error;
        }
      },
      outer,
      operation,
    );
  }

  private async send(
    method: 'GET' | 'PUT',
    url: string,
    projectId: string,
    body: string | undefined,
    signal: AbortSignal,
    traced?: TracedCall,
  ): Promise<{ response: OutboundAnswer; headers: Record<string, string> }> {
    // Outgoing headers are an allow-list: nothing of the caller's request is copied here.
    const signed: Record<string, string> = { 'content-type': 'application/json', 'x-project-id': projectId };
    // An IAM failure here is an IamTokenError: thrown as it is, and nothing was sent to SMN. Before the span:
    // a token request is IAM's exchange, not this attempt's.
    const headers = { ...signed, ...(await this.authorizer.headersFor({ method, url, headers: signed, body }, projectId)) };
    if (!traced) return { response: await this.request(method, url, headers, body, signal), headers };
    const resent = traced.sent++;
    const { hostname, port, protocol } = new URL(url);
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_FULL]: url,
      [TraceAttribute.UrlTemplate]: CALLBACK_TEMPLATE,
      [ATTR_SERVER_ADDRESS]: hostname,
      [ATTR_SERVER_PORT]: Number(port) || (protocol === 'https:' ? 443 : 80),
      [TraceAttribute.SmnOperation]: traced.operation,
      [TraceAttribute.SmnRetry]: traced.retry,
      ...(resent ? { [ATTR_HTTP_REQUEST_RESEND_COUNT]: resent } : {}),
      [TraceAttribute.ProjectId]: projectId,
    };
    return this.tracing.inSpan(`${method} ${CALLBACK_TEMPLATE}`, SpanKind.CLIENT, attributes, async (span) => {
      const response = await this.request(method, url, headers, body, signal);
      const smnRequestId = response.headers['x-request-id'];
      span?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      if (typeof smnRequestId === 'string') span?.setAttribute(TraceAttribute.SmnRequestId, smnRequestId);
      if (span && response.status >= 400) markFailed(span, String(response.status));
      return { response, headers };
    });
  }

  private async request(
    method: 'GET' | 'PUT',
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<OutboundAnswer> {
    try {
      // The transport's own send, not axios: we sign the exact bytes and parse the answer ourselves, so axios's
      // config merging, transforms and header objects were pure cost per call (docs/performance.md, GET path).
      return await this.transport.send({ method, url, headers, body, signal, timeoutMs: this.config.smn.upstream.attemptTimeoutMs });
    } catch (error) {
      throw transportError(error);
    }
  }

  private interpret(response: OutboundAnswer): UpstreamAnswer {
    const body = parseJson(response.body);
    const header = response.headers['x-request-id'];
    const record = (body ?? {}) as Record<string, unknown>;
    const requestId = typeof record.request_id === 'string' ? record.request_id : typeof header === 'string' ? header : undefined;
    const answer: UpstreamAnswer = { status: response.status, requestId, body };
    const status = response.status;
    if (status >= 200 && status < 300) return answer;

    // SMN answers {code, message}; its API gateway answers {error_code, error_msg}.
    const code = str(record.code) ?? str(record.error_code);
    const message = str(record.message) ?? str(record.error_msg);
    const upstream = { status, code, request_id: requestId };
    if (status === 401 || status === 403) throw new SmnAuthFailedError(upstream);
    if (status === 429) throw new SmnThrottledError(upstream, retryAfterMs(response.headers['retry-after']));
    if (status >= 400 && status < 500) throw new SmnRejectedError(upstream, message ?? `SMN rejected the request (HTTP ${status}).`);
    throw new SmnUnavailableError(`SMN failed (HTTP ${status}).`, upstream, status === 502 || status === 503 || status === 504);
  }
}

/** ListSmsEvent and UpdateSmsEvent (docs/upstream-smn.md §2, §3). */
const callbackPath = (projectId: string) => `/v2/${projectId}/notifications/sms/callback`;
/** The same path as a template: the attempt spans' name, one per operation whatever the project. */
const CALLBACK_TEMPLATE = '/v2/{project_id}/notifications/sms/callback';

interface WireCallback {
  event_type: SmsEventType;
  topic_urn: string;
}

function isWireCallback(value: unknown): value is WireCallback {
  const c = value as Partial<WireCallback> | null;
  return !!c && SMS_EVENT_TYPES.includes(c.event_type as SmsEventType) && typeof c.topic_urn === 'string';
}

function malformed(answer: UpstreamAnswer): SmnUnavailableError {
  return new SmnUnavailableError('SMN answered with a body this service cannot read.', {
    status: answer.status,
    request_id: answer.requestId,
  });
}

function transportError(error: unknown): Error {
  if (error instanceof HttpTimeoutError) return new SmnTimeoutError();
  // The overall deadline aborted the attempt; the resilience layer reports the deadline.
  if (isCancel(error)) return error as Error;
  if (!isAxiosError(error)) return error as Error;
  // HttpConnectionError (refused, reset, …) keeps its `code` as the cause's: see mayHaveReachedSmn.
  return new SmnUnavailableError(`SMN could not be reached (${error.code ?? 'network error'}).`, undefined, true, error);
}

/**
 * False only for failures that prove SMN did not apply the request: a well-formed refusal (4xx, including
 * its gateway's 401/403/429), a connection that was never made (the cause's code: refused, unresolvable,
 * unreachable, no proxy tunnel), or no IAM token (nothing was sent). Timeouts, resets, 5xx and unreadable
 * answers may come after SMN applied it.
 */
function mayHaveReachedSmn(error: unknown): boolean {
  if (error instanceof SmnRejectedError || error instanceof SmnAuthFailedError || error instanceof SmnThrottledError) return false;
  if (error instanceof IamTokenError) return false;
  return !(error instanceof SmnUnavailableError && error.upstream === undefined && neverSent(error.cause));
}

/** The same failure for the caller, marked as one whose change may have been applied. */
function withUnknownOutcome(error: unknown): BffError {
  const e = error instanceof BffError ? error : new SmnUnavailableError('SMN could not be reached.', undefined, false, error);
  return new BffError(e.status, e.code, `${e.message} The change may have been applied: GET the configuration to see.`, {
    upstream: e.upstream,
    headers: e.headers,
    errors: e.errors,
    cause: error,
    outcomeUnknown: true,
  });
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

/** `Retry-After` in seconds or as an HTTP date; 1 s when absent or unreadable. */
function retryAfterMs(header: unknown): number {
  if (typeof header !== 'string') return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}
