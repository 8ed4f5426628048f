import { BffError, UpstreamInfo } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';

/**
 * Typed upstream failures (README, Errors). Each is a BffError already carrying the status and code the
 * caller sees, so the global filter needs no SMN knowledge.
 */

/** SMN refused the request (4xx other than 401/403/429): its status and `SMN.*` code pass through. */
export class SmnRejectedError extends BffError {
  constructor(upstream: Required<Pick<UpstreamInfo, 'status'>> & UpstreamInfo, message: string) {
    super(upstream.status, upstream.code ?? `HTTP.${upstream.status}`, message, { upstream });
  }
}

/** SMN (or its gateway) refused the BFF's own credentials: an operator problem, never the caller's 401. */
export class SmnAuthFailedError extends BffError {
  constructor(upstream: UpstreamInfo) {
    super(502, ErrorCode.UpstreamAuthFailed, 'SMN refused the credentials of this service; contact its operators.', { upstream });
  }
}

export class SmnThrottledError extends BffError {
  constructor(
    upstream: UpstreamInfo,
    readonly retryAfterMs: number,
  ) {
    super(503, ErrorCode.UpstreamThrottled, 'SMN is throttling requests; retry later.', {
      upstream,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    });
  }
}

/** 5xx, connection failure, or an answer that is not what SMN promises. */
export class SmnUnavailableError extends BffError {
  constructor(
    message: string,
    upstream?: UpstreamInfo,
    /** Worth another attempt: connection errors and 502/503/504, not a malformed answer or a 500. */
    readonly retryable = false,
    cause?: unknown,
  ) {
    super(502, ErrorCode.UpstreamUnavailable, message, { upstream, cause });
  }
}

export class SmnCircuitOpenError extends BffError {
  constructor(retryAfterSec: number, message = 'SMN is failing; calls are paused for a short while.') {
    super(503, ErrorCode.UpstreamUnavailable, message, {
      headers: { 'retry-after': String(Math.max(1, retryAfterSec)) },
    });
  }
}

export class SmnTimeoutError extends BffError {
  constructor(message = 'SMN did not answer in time.') {
    super(504, ErrorCode.UpstreamTimeout, message);
  }
}

/**
 * IAM did not issue a token, so the SMN request it was for was never sent. The caller sees IAM's failure as
 * it was (status, code, `Retry-After`); SMN's retry and breaker ignore it (IAM has its own policy, and an
 * IAM outage says nothing about SMN), and no change can have been applied.
 */
export class IamTokenError extends BffError {
  constructor(failure: BffError) {
    super(failure.status, failure.code, failure.message, { upstream: failure.upstream, headers: failure.headers, cause: failure });
  }
}

/** Failures that another attempt may cure (ADR 0005 and README, Upstream); both operations are idempotent. */
export function isRetryable(error: unknown): boolean {
  return error instanceof SmnThrottledError || error instanceof SmnTimeoutError || (error instanceof SmnUnavailableError && error.retryable);
}

/** Failures that say the endpoint is sick, counted by the circuit breaker (throttling is not). */
export function isOutage(error: unknown): boolean {
  return error instanceof SmnTimeoutError || error instanceof SmnUnavailableError;
}
