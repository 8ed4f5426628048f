import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';

/** Why a request was refused by the auth guard: the label of the auth-failure metric and the audit. */
export type AuthFailureReason =
  | 'missing_credentials'
  | 'malformed_credentials'
  | 'credentials_in_query'
  | 'token_too_large'
  | 'token_malformed'
  | 'algorithm_not_allowed'
  | 'bad_signature'
  | 'unknown_key'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'invalid_claims'
  | 'unknown_api_key'
  | 'unknown_access_key'
  | 'signature_expired'
  | 'signature_mismatch'
  | 'auth_unavailable'
  | 'rate_limited_ip'
  | 'rate_limited_caller'
  | 'missing_scope'
  | 'project_denied';

/** What the guard leaves on `request.authFailure` before it throws. Holds no secret. */
export interface AuthFailure {
  status: number;
  code: string;
  reason: AuthFailureReason;
}

/** A refusal by the auth guard: a `BffError` (the global filter renders it) that also names its reason. */
export class AuthDeniedError extends BffError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly reason: AuthFailureReason,
    headers?: Record<string, string>,
    cause?: unknown,
  ) {
    super(status, code, message, { headers, cause });
    this.name = 'AuthDeniedError';
  }

  toFailure(): AuthFailure {
    return { status: this.status, code: this.code, reason: this.reason };
  }
}

export const AUTH_REALM = 'sms-callback-bff';

/**
 * 401. `invalidToken` adds `error="invalid_token"` (RFC 6750 §3.1) when credentials were presented but are
 * not acceptable; a request without credentials gets the bare challenge.
 */
export function unauthenticated(reason: AuthFailureReason, message: string, invalidToken = true, cause?: unknown): AuthDeniedError {
  const challenge = invalidToken ? `Bearer realm="${AUTH_REALM}", error="invalid_token"` : `Bearer realm="${AUTH_REALM}"`;
  return new AuthDeniedError(401, ErrorCode.Unauthenticated, message, reason, { 'WWW-Authenticate': challenge }, cause);
}

export function forbidden(reason: 'missing_scope' | 'project_denied', message: string): AuthDeniedError {
  return new AuthDeniedError(403, ErrorCode.Forbidden, message, reason);
}

/** 503: the token could not be checked because the issuer's keys are unavailable — not the caller's fault. */
export function authUnavailable(cause?: unknown): AuthDeniedError {
  return new AuthDeniedError(
    503,
    ErrorCode.AuthUnavailable,
    'Caller authentication is temporarily unavailable; retry later.',
    'auth_unavailable',
    undefined,
    cause,
  );
}

export function rateLimited(reason: 'rate_limited_ip' | 'rate_limited_caller', retryAfterSec: number): AuthDeniedError {
  return new AuthDeniedError(429, ErrorCode.RateLimited, `Too many requests; retry after ${retryAfterSec} s.`, reason, {
    'Retry-After': String(retryAfterSec),
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard when it refuses the request (401, 403, 429, 503), before it throws. */
    authFailure?: AuthFailure;
  }
}
