import { HttpTimeoutError } from '../http/outbound-http.errors';
import { AxiosError, CanceledError } from 'axios';
import type { OutboundTransport } from '../http/outbound-transport';
import type { OutboundAnswer, OutboundCall } from '../http/undici-axios-adapter';
import { BffError } from '../common/bff-error';
import { requestContext } from '../common/request-context';
import type { AppConfig, UpstreamPolicyConfig } from '../config/app-config';
import type { SmnEndpoints } from './smn-endpoints';
import { SmnHttpClient } from './smn-http.client';
import type { SmnRequestAuthorizer } from './smn-request-authorizer';
import { SmnAuthFailedError, SmnRejectedError, SmnThrottledError, SmnTimeoutError, SmnUnavailableError } from './smn.errors';
import type { SmsCallback } from './smn.port';
import { UpstreamResilience } from './upstream-resilience';

const PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const BASE_URL = 'https://smn.cn-north-4.example';
const CALLBACKS: SmsCallback[] = [{ eventType: 'sms_fail_event', topicUrn: `urn:smn:cn-north-4:${PROJECT}:t` }];
const SMN_ID = 'a'.repeat(32);

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Step = Answer | Error | ((call: OutboundCall) => Promise<OutboundAnswer>);

const response = ({ status, body, headers = {} }: Answer): OutboundAnswer => ({
  status,
  body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
  headers,
  request: { method: 'GET', url: BASE_URL },
});

const axiosError = (code: string | undefined, message = `network failure ${code ?? ''}`) => new AxiosError(message, code);

/** Rejects with axios's CanceledError when the attempt's signal aborts, as the undici adapter does. */
const hangUntilAborted = (call: OutboundCall) =>
  new Promise<OutboundAnswer>((_, reject) => {
    call.signal!.addEventListener('abort', () => reject(new CanceledError('canceled')));
  });

/** A pass-through in place of the policies: one attempt, the error mapping alone. */
const oneAttempt = { execute: <T>(_endpoint: string, attempt: (signal: AbortSignal) => Promise<T>) => attempt(new AbortController().signal) };

function client(steps: Step[], options: { resilience?: Partial<UpstreamPolicyConfig> | 'one attempt'; refresh?: boolean } = {}) {
  const requests: OutboundCall[] = [];
  const send = jest.fn(async (call: OutboundCall) => {
    requests.push(call);
    const step = steps[requests.length - 1] ?? { status: 200, body: { request_id: SMN_ID, callback: [] } };
    if (typeof step === 'function') return step(call);
    if (step instanceof Error) throw step;
    return response(step);
  });
  const transport = { send } as unknown as OutboundTransport;
  const endpoints = { regionOf: (id: string) => (id === PROJECT ? 'cn-north-4' : undefined), baseUrlFor: () => BASE_URL } as unknown as SmnEndpoints;
  const authorizer = {
    headersFor: jest.fn(async () => ({ authorization: 'SDK-HMAC-SHA256 Access=ak, SignedHeaders=x, Signature=s', 'x-sdk-date': '20261201T000000Z' })),
    refreshAfterRejection: jest.fn(() => options.refresh ?? false),
  } as unknown as SmnRequestAuthorizer;
  const policy: UpstreamPolicyConfig = {
    attemptTimeoutMs: 1_234,
    deadlineMs: 1_000,
    maxRetries: 0,
    backoffBaseMs: 0,
    backoffMaxMs: 0,
    retryAfterCapMs: 0,
    breakerThreshold: 1_000,
    breakerHalfOpenAfterMs: 1_000,
    maxSockets: 1,
    ...(options.resilience === 'one attempt' ? {} : options.resilience),
  };
  const resilience =
    options.resilience === 'one attempt' || !options.resilience ? (oneAttempt as unknown as UpstreamResilience) : new UpstreamResilience(policy);
  const config = { smn: { upstream: policy } } as AppConfig;
  return { smn: new SmnHttpClient(transport, endpoints, authorizer, resilience, config), requests, authorizer };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as BffError,
  );

describe('SmnHttpClient', () => {
  describe('a well-formed answer', () => {
    it('lists the callbacks SMN returned, by its request id', async () => {
      const { smn } = client([{ status: 200, body: { request_id: SMN_ID, callback: [{ event_type: 'sms_reply_event', topic_urn: 'urn:x' }] } }]);
      await expect(smn.listSmsCallbacks(PROJECT)).resolves.toEqual({ requestId: SMN_ID, callbacks: [{ eventType: 'sms_reply_event', topicUrn: 'urn:x' }] });
    });

    it('sends an allow-listed set of headers, the exact body, the correlation id and the per-attempt timeout', async () => {
      const { smn, requests } = client([{ status: 200, body: { request_id: SMN_ID } }]);
      await requestContext.run({ requestId: 'corr-1' }, () => smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      const [sent] = requests;
      expect(sent).toMatchObject({
        method: 'PUT',
        url: `${BASE_URL}/v2/${PROJECT}/notifications/sms/callback`,
        body: JSON.stringify({ callback: [{ event_type: 'sms_fail_event', topic_urn: CALLBACKS[0].topicUrn }] }),
        timeoutMs: 1_234,
      });
      // The user agent and the correlation id are the outbound HTTP module's to add (src/http/).
      expect(Object.keys(sent.headers as object).sort()).toEqual(['authorization', 'content-type', 'x-project-id', 'x-sdk-date']);
      expect(sent.headers).toMatchObject({ 'x-project-id': PROJECT, 'content-type': 'application/json' });
    });

    it('puts the event type filter in the query', async () => {
      const { smn, requests } = client([]);
      await smn.listSmsCallbacks(PROJECT, 'sms_fail_event');
      expect(requests[0].url).toBe(`${BASE_URL}/v2/${PROJECT}/notifications/sms/callback?event_type=sms_fail_event`);
    });

    it('refuses a project without a region before sending anything', async () => {
      const { smn, requests } = client([]);
      await expect(smn.listSmsCallbacks('f'.repeat(32))).rejects.toThrow('has no configured region');
      expect(requests).toEqual([]);
    });
  });

  describe("interpret: SMN's answer → typed error", () => {
    it.each<[string, Answer, Record<string, unknown>, new (...args: never[]) => BffError]>([
      [
        'an SMN refusal {code, message}',
        { status: 400, body: { request_id: SMN_ID, code: 'SMN.0141', message: 'The topic does not exist.' } },
        { status: 400, code: 'SMN.0141', message: 'The topic does not exist.', upstream: { status: 400, code: 'SMN.0141', request_id: SMN_ID } },
        SmnRejectedError,
      ],
      [
        'an API gateway refusal {error_code, error_msg}',
        { status: 404, body: { request_id: SMN_ID, error_code: 'APIGW.0101', error_msg: 'API not found' } },
        { status: 404, code: 'APIGW.0101', message: 'API not found', upstream: { status: 404, code: 'APIGW.0101', request_id: SMN_ID } },
        SmnRejectedError,
      ],
      [
        "a refusal without a body (the header's request id)",
        { status: 400, headers: { 'x-request-id': 'hdr-id' } },
        { status: 400, code: 'HTTP.400', message: 'SMN rejected the request (HTTP 400).', upstream: { status: 400, request_id: 'hdr-id' } },
        SmnRejectedError,
      ],
      [
        "the body's request id over the header's",
        { status: 409, body: { request_id: SMN_ID, code: 'SMN.1' }, headers: { 'x-request-id': 'hdr-id' } },
        { status: 409, upstream: { status: 409, code: 'SMN.1', request_id: SMN_ID } },
        SmnRejectedError,
      ],
      [
        '401: our credentials',
        { status: 401, body: { error_code: 'APIGW.0301' } },
        { status: 502, code: 'BFF.UPSTREAM_AUTH_FAILED', upstream: { status: 401, code: 'APIGW.0301' } },
        SmnAuthFailedError,
      ],
      [
        '403: our credentials',
        { status: 403, body: { code: 'SMN.0001' } },
        { status: 502, code: 'BFF.UPSTREAM_AUTH_FAILED', upstream: { status: 403, code: 'SMN.0001' } },
        SmnAuthFailedError,
      ],
      [
        '429 with Retry-After in seconds',
        { status: 429, headers: { 'retry-after': '3' } },
        { status: 503, code: 'BFF.UPSTREAM_THROTTLED', retryAfterMs: 3_000, headers: { 'retry-after': '3' } },
        SmnThrottledError,
      ],
      ['429 without Retry-After (1 s)', { status: 429 }, { retryAfterMs: 1_000, headers: { 'retry-after': '1' } }, SmnThrottledError],
      ['429 with an unreadable Retry-After (1 s)', { status: 429, headers: { 'retry-after': 'soon' } }, { retryAfterMs: 1_000 }, SmnThrottledError],
      [
        '500: not retried',
        { status: 500, body: { code: 'SMN.0018' } },
        { status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', retryable: false, upstream: { status: 500, code: 'SMN.0018' } },
        SmnUnavailableError,
      ],
      ['502: retried', { status: 502 }, { status: 502, retryable: true, upstream: { status: 502 } }, SmnUnavailableError],
      ['503: retried', { status: 503 }, { retryable: true }, SmnUnavailableError],
      ['504: retried', { status: 504 }, { retryable: true }, SmnUnavailableError],
      ['a redirect (never expected)', { status: 302 }, { status: 502, retryable: false, upstream: { status: 302 } }, SmnUnavailableError],
      [
        'a 200 that is not JSON',
        { status: 200, body: '<html>', headers: { 'x-request-id': 'hdr-id' } },
        { status: 502, message: expect.stringContaining('cannot read'), upstream: { status: 200, request_id: 'hdr-id' } },
        SmnUnavailableError,
      ],
      ['a 200 without a request id', { status: 200, body: { callback: [] } }, { status: 502, retryable: false }, SmnUnavailableError],
      [
        'a 200 listing an unknown event type',
        { status: 200, body: { request_id: SMN_ID, callback: [{ event_type: 'x', topic_urn: 'u' }] } },
        { status: 502, upstream: { status: 200, request_id: SMN_ID } },
        SmnUnavailableError,
      ],
    ])('%s', async (_, answer, expected, type) => {
      const { smn } = client([answer], { resilience: 'one attempt' });
      const error = await failureOf(smn.listSmsCallbacks(PROJECT));
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject(expected);
    });

    it('reads Retry-After as an HTTP date', async () => {
      const { smn } = client([{ status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } }], { resilience: 'one attempt' });
      const error = (await failureOf(smn.listSmsCallbacks(PROJECT))) as SmnThrottledError;
      expect(error.retryAfterMs).toBeGreaterThan(25_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it('retries once with a fresh token when SMN refuses the IAM token, then interprets the second answer', async () => {
      const { smn, requests, authorizer } = client([{ status: 401 }, { status: 200, body: { request_id: SMN_ID, callback: [] } }], { refresh: true });
      await expect(smn.listSmsCallbacks(PROJECT)).resolves.toEqual({ requestId: SMN_ID, callbacks: [] });
      expect(requests).toHaveLength(2);
      expect(authorizer.refreshAfterRejection).toHaveBeenCalledTimes(1);
    });

    it('does not resend a refused signature', async () => {
      const { smn, requests } = client([{ status: 401 }], { refresh: false });
      await expect(smn.listSmsCallbacks(PROJECT)).rejects.toBeInstanceOf(SmnAuthFailedError);
      expect(requests).toHaveLength(1);
    });
  });

  describe("transportError: axios's errors → typed errors", () => {
    it.each<[string, Error, (error: BffError) => void]>([
      ['the attempt timeout (HttpTimeoutError)', new HttpTimeoutError(1_234), (e) => expect(e).toBeInstanceOf(SmnTimeoutError)],
      [
        'ECONNREFUSED',
        axiosError('ECONNREFUSED'),
        (e) => expect(e).toMatchObject({ status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', retryable: true, message: expect.stringContaining('ECONNREFUSED') }),
      ],
      ['ECONNRESET', axiosError('ECONNRESET'), (e) => expect(e).toMatchObject({ status: 502, retryable: true, upstream: undefined })],
      [
        'an axios error without a code',
        axiosError(undefined),
        (e) => expect(e).toMatchObject({ status: 502, message: expect.stringContaining('network error') }),
      ],
    ])('%s', async (_, thrown, check) => {
      const { smn } = client([thrown], { resilience: 'one attempt' });
      const error = await failureOf(smn.listSmsCallbacks(PROJECT));
      check(error);
      if (error instanceof SmnUnavailableError) expect(error.cause).toBe(thrown);
    });

    it("passes ERR_CANCELED (the deadline's abort) on for the resilience layer to report", async () => {
      const canceled = new CanceledError('canceled');
      const { smn } = client([canceled], { resilience: 'one attempt' });
      await expect(smn.listSmsCallbacks(PROJECT)).rejects.toBe(canceled);
    });

    it("passes on errors that are not axios's (e.g. signing) as they are", async () => {
      const bug = new TypeError('bug');
      const { smn } = client([bug], { resilience: 'one attempt' });
      await expect(smn.listSmsCallbacks(PROJECT)).rejects.toBe(bug);
    });
  });

  describe('updates: whether a failed change may have been applied (mayHaveReachedSmn, withUnknownOutcome)', () => {
    it("answers SMN's request id", async () => {
      const { smn } = client([{ status: 200, body: { request_id: SMN_ID } }]);
      await expect(smn.updateSmsCallbacks(PROJECT, CALLBACKS)).resolves.toEqual({ requestId: SMN_ID });
    });

    it.each<[string, Step]>([
      ['an SMN refusal (4xx)', { status: 400, body: { code: 'SMN.0141' } }],
      ['refused credentials (401)', { status: 401 }],
      ['refused credentials (403)', { status: 403 }],
      ['throttling (429)', { status: 429 }],
      ['ECONNREFUSED', axiosError('ECONNREFUSED')],
      ['ENOTFOUND', axiosError('ENOTFOUND')],
      ['EAI_AGAIN', axiosError('EAI_AGAIN')],
      ['EHOSTUNREACH', axiosError('EHOSTUNREACH')],
      ['ENETUNREACH', axiosError('ENETUNREACH')],
    ])('after %s nothing was applied: the error as it is', async (_, step) => {
      const { smn } = client([step], { resilience: 'one attempt' });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(error).toBeInstanceOf(BffError);
      expect(error.outcomeUnknown).toBe(false);
      expect(error.message).not.toContain('may have been applied');
    });

    it.each<[string, Step, Record<string, unknown>]>([
      [
        'a 500',
        { status: 500, body: { code: 'SMN.0018', request_id: SMN_ID } },
        { status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', upstream: { status: 500, code: 'SMN.0018', request_id: SMN_ID } },
      ],
      ['a 503', { status: 503 }, { status: 502, upstream: { status: 503 } }],
      ['an attempt timeout', new HttpTimeoutError(1_234), { status: 504, code: 'BFF.UPSTREAM_TIMEOUT' }],
      ['a reset connection', axiosError('ECONNRESET'), { status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE' }],
      ['a 2xx that cannot be read', { status: 200, body: 'OK' }, { status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', upstream: { status: 200 } }],
      [
        'a cancelled attempt',
        new CanceledError('canceled'),
        { status: 502, code: 'BFF.UPSTREAM_UNAVAILABLE', message: expect.stringContaining('could not be reached') },
      ],
    ])('after %s it may have been applied: the same failure, marked unknown', async (_, step, expected) => {
      const { smn } = client([step], { resilience: 'one attempt' });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(error).toBeInstanceOf(BffError);
      expect(error).toMatchObject({ ...expected, outcomeUnknown: true });
      expect(error.message).toContain('The change may have been applied: GET the configuration to see.');
      expect(error.cause).toBeDefined();
    });

    it('keeps the headers of the failure it marks (Retry-After of a breaker or throttle)', async () => {
      // A timeout first (may have applied), then throttling on the retry: the caller still gets Retry-After.
      const { smn } = client([new HttpTimeoutError(1_234), { status: 429, headers: { 'retry-after': '4' } }], { resilience: { maxRetries: 1 } });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(error).toMatchObject({ status: 503, code: 'BFF.UPSTREAM_THROTTLED', outcomeUnknown: true, headers: { 'retry-after': '4' } });
    });

    it('marks the call unknown when any earlier attempt may have reached SMN, whatever the last one said', async () => {
      const { smn, requests } = client([axiosError('ECONNRESET'), { status: 400, body: { code: 'SMN.0141' } }], { resilience: { maxRetries: 1 } });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(requests).toHaveLength(2);
      expect(error).toMatchObject({ status: 400, code: 'SMN.0141', outcomeUnknown: true });
    });

    it('stays certain when every attempt provably failed to connect', async () => {
      const { smn, requests } = client([axiosError('ECONNREFUSED'), axiosError('ECONNREFUSED')], { resilience: { maxRetries: 1 } });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(requests).toHaveLength(2);
      expect(error).toMatchObject({ status: 502, outcomeUnknown: false });
    });

    // The aborted attempt's own failure is noted before the timeout reaches updateSmsCallbacks.
    it('marks a PUT that the deadline aborted in flight as unknown', async () => {
      const { smn } = client([hangUntilAborted], { resilience: { deadlineMs: 20, attemptTimeoutMs: 20 } });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS));
      expect(error).toMatchObject({ status: 504, code: 'BFF.UPSTREAM_TIMEOUT', outcomeUnknown: true });
    });

    it("marks a PUT that the caller's signal aborted in flight as unknown", async () => {
      const { smn } = client([hangUntilAborted], { resilience: { deadlineMs: 5_000 } });
      const error = await failureOf(smn.updateSmsCallbacks(PROJECT, CALLBACKS, { signal: AbortSignal.timeout(20) }));
      expect(error).toMatchObject({ status: 504, code: 'BFF.UPSTREAM_TIMEOUT', outcomeUnknown: true });
    });
  });
});
