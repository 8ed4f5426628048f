/** Stable error codes of the BFF (the README's error table). Upstream `SMN.*` codes are passed through as they come. */
export const ErrorCode = {
  ValidationFailed: 'BFF.VALIDATION_FAILED',
  Unauthenticated: 'BFF.UNAUTHENTICATED',
  Forbidden: 'BFF.FORBIDDEN',
  NotFound: 'BFF.NOT_FOUND',
  ProjectNotFound: 'BFF.PROJECT_NOT_FOUND',
  PreconditionFailed: 'BFF.PRECONDITION_FAILED',
  PayloadTooLarge: 'BFF.PAYLOAD_TOO_LARGE',
  UnsupportedMediaType: 'BFF.UNSUPPORTED_MEDIA_TYPE',
  RequestTimeout: 'BFF.REQUEST_TIMEOUT',
  HeadersTooLarge: 'BFF.HEADERS_TOO_LARGE',
  UriTooLong: 'BFF.URI_TOO_LONG',
  ExpectationFailed: 'BFF.EXPECTATION_FAILED',
  RateLimited: 'BFF.RATE_LIMITED',
  AuthUnavailable: 'BFF.AUTH_UNAVAILABLE',
  UpstreamAuthFailed: 'BFF.UPSTREAM_AUTH_FAILED',
  UpstreamThrottled: 'BFF.UPSTREAM_THROTTLED',
  UpstreamUnavailable: 'BFF.UPSTREAM_UNAVAILABLE',
  UpstreamTimeout: 'BFF.UPSTREAM_TIMEOUT',
  AuditUnavailable: 'BFF.AUDIT_UNAVAILABLE',
  ProjectBusy: 'BFF.PROJECT_BUSY',
  Internal: 'BFF.INTERNAL',
} as const;

export type BffErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
