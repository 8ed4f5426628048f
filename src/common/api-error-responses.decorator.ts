import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { HeaderObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorEnvelopeDto } from './dto/error-envelope.dto';
import { ErrorCode } from './error-codes';
import type { ErrorEnvelope } from './error-envelope';

/**
 * One documented error answer: its status, the envelope it carries (the README's error table) and the
 * headers sent with it. A route lists the errors it can give; the spec groups them by status, with one
 * named example each, so Swagger UI and generated clients show the code a status really carries.
 */
export interface ErrorResponseDoc {
  status: number;
  /** What this answer means, one line for the status's description. */
  summary: string;
  example: Omit<ErrorEnvelope, 'request_id'>;
  headers?: Record<string, HeaderObject>;
}

/** An example id in the format of this service's own (and SMN's) request ids. */
const EXAMPLE_REQUEST_ID = '6a63a18b8bab40ffb71ebd9cb80d0085';

const RETRY_AFTER_REQUIRED: Record<string, HeaderObject> = {
  'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'integer', minimum: 1 } },
};
/** 503s other than throttling, the open circuit and a busy project come without it. */
const RETRY_AFTER: Record<string, HeaderObject> = {
  'Retry-After': {
    description: 'Seconds to wait before retrying; sent with `BFF.UPSTREAM_THROTTLED`, `BFF.PROJECT_BUSY` and the open circuit.',
    schema: { type: 'integer', minimum: 1 },
  },
};

/**
 * The budget a limited answer was charged to (IETF draft RateLimit fields), sent on the answers of every
 * authenticated route, errors included; public routes are not limited.
 */
export const RATE_LIMIT_HEADERS: Record<string, HeaderObject> = {
  'RateLimit-Limit': {
    description: "Requests per window in the budget charged (the caller's, or the source IP's after failed authentication).",
    schema: { type: 'integer' },
  },
  'RateLimit-Remaining': { description: 'Requests left in the window.', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: { type: 'integer', minimum: 1 } },
};

/** The errors of the README's error table, one entry per code and status. */
export const ErrorResponse = {
  ValidationFailed: {
    status: 400,
    summary: 'Invalid body, path or query, with field-level `errors` (`BFF.VALIDATION_FAILED`).',
    example: {
      code: ErrorCode.ValidationFailed,
      message: 'The request is invalid.',
      errors: [{ field: 'callback[0].event_type', message: 'event_type must be one of sms_success_event, sms_fail_event, sms_reply_event' }],
    },
  },
  SmnEventTypeRule: {
    status: 400,
    summary: "An event type SMN does not know (body or `event_type` filter): SMN's own rule, SMN's code and message (`SMN.0100`), field-level `errors` kept.",
    example: {
      code: 'SMN.0100',
      message: 'The eventType parameter is invalid.',
      errors: [{ field: 'callback[0].event_type', message: 'event_type must be one of sms_success_event, sms_fail_event, sms_reply_event' }],
    },
  },
  SmnTopicUrnRule: {
    status: 400,
    summary:
      "A topic URN malformed or of another project or region: SMN's own rule, SMN's code for the event type (`SMN.0140` fail, `SMN.0142` success, `SMN.0144` reply), field-level `errors` kept.",
    example: {
      code: 'SMN.0144',
      message: 'The topic URN configured for the response message event is invalid.',
      errors: [{ field: 'callback[0].topic_urn', message: 'the topic must belong to project f96188c7ccaf4ffba0c9aa149ab2bd57' }],
    },
  },
  SmnRejected: {
    status: 400,
    summary: "SMN refused the request: its status and `SMN.*` code pass through, with SMN's answer in `upstream`.",
    example: {
      code: 'SMN.0141',
      message: 'The topic configured for the message sending failure event does not exist.',
      upstream: { status: 400, code: 'SMN.0141', request_id: 'aad0860d089c482b943971f802a6718e' },
    },
  },
  Unauthenticated: {
    status: 401,
    summary: 'No or bad credentials (`BFF.UNAUTHENTICATED`).',
    example: { code: ErrorCode.Unauthenticated, message: 'Authentication required: send a bearer token or an X-Api-Key header.' },
    headers: {
      ...RATE_LIMIT_HEADERS,
      'WWW-Authenticate': {
        description: 'The challenge, `Bearer realm="sms-callback-bff"`, with `error="invalid_token"` when credentials were presented.',
        required: true,
        schema: { type: 'string' },
      },
    },
  },
  Forbidden: {
    status: 403,
    summary: 'Authenticated, but missing the scope or access to the project (`BFF.FORBIDDEN`).',
    example: { code: ErrorCode.Forbidden, message: 'The caller lacks the scope "sms-callback:write".' },
  },
  ProjectNotFound: {
    status: 404,
    summary: 'The project is not served by this BFF (`BFF.PROJECT_NOT_FOUND`).',
    example: { code: ErrorCode.ProjectNotFound, message: 'Project ffffffffffffffffffffffffffffffff is not served by this BFF.' },
  },
  PreconditionFailed: {
    status: 412,
    summary: '`If-Match` does not match the current configuration (`BFF.PRECONDITION_FAILED`).',
    example: { code: ErrorCode.PreconditionFailed, message: 'The configuration changed since it was read: GET it again and retry with its ETag.' },
  },
  PayloadTooLarge: {
    status: 413,
    summary: 'Body larger than 64 KiB (`BFF.PAYLOAD_TOO_LARGE`).',
    example: { code: ErrorCode.PayloadTooLarge, message: 'The request body exceeds 64 KiB.' },
  },
  UnsupportedMediaType: {
    status: 415,
    summary: 'Body not JSON, compressed, or not UTF-8 (`BFF.UNSUPPORTED_MEDIA_TYPE`).',
    example: { code: ErrorCode.UnsupportedMediaType, message: 'The request body must be JSON (Content-Type: application/json).' },
  },
  RateLimited: {
    status: 429,
    summary: 'The caller (or, failing authentication, its source IP) is over its rate limit (`BFF.RATE_LIMITED`).',
    example: { code: ErrorCode.RateLimited, message: 'Too many requests; retry after 12 s.' },
    headers: { ...RETRY_AFTER_REQUIRED, ...RATE_LIMIT_HEADERS },
  },
  Internal: {
    status: 500,
    summary: 'Unexpected error (`BFF.INTERNAL`).',
    example: { code: ErrorCode.Internal, message: 'An unexpected error occurred.' },
  },
  UpstreamAuthFailed: {
    status: 502,
    summary: "SMN refused this service's own credentials (`BFF.UPSTREAM_AUTH_FAILED`).",
    example: {
      code: ErrorCode.UpstreamAuthFailed,
      message: 'SMN refused the credentials of this service; contact its operators.',
      upstream: { status: 401, code: 'APIGW.0301', request_id: 'aad0860d089c482b943971f802a6718e' },
    },
  },
  UpstreamUnavailable: {
    status: 502,
    summary: 'SMN failed, is unreachable, or gave an unreadable answer (`BFF.UPSTREAM_UNAVAILABLE`).',
    example: {
      code: ErrorCode.UpstreamUnavailable,
      message: 'SMN failed (HTTP 503).',
      upstream: { status: 503, request_id: 'aad0860d089c482b943971f802a6718e' },
    },
  },
  CircuitOpen: {
    status: 503,
    summary: 'The circuit to SMN is open: failing fast without calling it (`BFF.UPSTREAM_UNAVAILABLE`).',
    example: { code: ErrorCode.UpstreamUnavailable, message: 'SMN is failing; calls are paused for a short while.' },
    headers: RETRY_AFTER,
  },
  UpstreamThrottled: {
    status: 503,
    summary: 'SMN throttles this service (`BFF.UPSTREAM_THROTTLED`).',
    example: {
      code: ErrorCode.UpstreamThrottled,
      message: 'SMN is throttling requests; retry later.',
      upstream: { status: 429, code: 'APIGW.0308', request_id: 'aad0860d089c482b943971f802a6718e' },
    },
    headers: RETRY_AFTER,
  },
  ProjectBusy: {
    status: 503,
    summary: 'Another change to the same project holds its lock; nothing was forwarded (`BFF.PROJECT_BUSY`).',
    example: { code: ErrorCode.ProjectBusy, message: 'Another change to this project is in progress; retry shortly.' },
    headers: RETRY_AFTER,
  },
  AuditUnavailable: {
    status: 503,
    summary: 'The audit store cannot take the record; a change is not forwarded (`BFF.AUDIT_UNAVAILABLE`).',
    example: { code: ErrorCode.AuditUnavailable, message: 'The audit store cannot take the record; the change was not forwarded.' },
  },
  AuthUnavailable: {
    status: 503,
    summary: "The issuer's keys cannot be fetched and none is cached (`BFF.AUTH_UNAVAILABLE`).",
    example: { code: ErrorCode.AuthUnavailable, message: 'Caller authentication is temporarily unavailable; retry later.' },
  },
  UpstreamTimeout: {
    status: 504,
    summary: 'SMN did not answer in time, after retries or at the overall deadline (`BFF.UPSTREAM_TIMEOUT`).',
    example: { code: ErrorCode.UpstreamTimeout, message: 'SMN did not answer in time.' },
  },
} as const satisfies Record<string, ErrorResponseDoc>;

/** What every authenticated route can answer, whatever it does. */
export const AUTHENTICATED_ROUTE_ERRORS: readonly ErrorResponseDoc[] = [
  ErrorResponse.Unauthenticated,
  ErrorResponse.Forbidden,
  ErrorResponse.RateLimited,
  ErrorResponse.AuthUnavailable,
  ErrorResponse.Internal,
];

/** What a route that calls SMN can answer besides. */
export const UPSTREAM_ERRORS: readonly ErrorResponseDoc[] = [
  ErrorResponse.SmnRejected,
  ErrorResponse.UpstreamAuthFailed,
  ErrorResponse.UpstreamUnavailable,
  ErrorResponse.CircuitOpen,
  ErrorResponse.UpstreamThrottled,
  ErrorResponse.UpstreamTimeout,
];

/** Documents the errors a route can give, grouped by status, all in the one envelope. */
export function ApiErrorResponses(...errors: ReadonlyArray<ErrorResponseDoc | readonly ErrorResponseDoc[]>): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorResponseDoc[]>();
  for (const error of errors.flat()) byStatus.set(error.status, [...(byStatus.get(error.status) ?? []), error]);
  return applyDecorators(
    ...[...byStatus].map(([status, docs]) =>
      ApiResponse({
        status,
        description: docs.map((doc) => doc.summary).join(' '),
        type: ErrorEnvelopeDto,
        headers: Object.assign({}, ...docs.map((doc) => doc.headers ?? {})) as Record<string, HeaderObject>,
        examples: Object.fromEntries(
          // `request_id` is SMN's id when SMN answered (README, Errors), else this service's correlation id.
          docs.map((doc) => [
            doc.example.code,
            { summary: doc.summary, value: { request_id: doc.example.upstream?.request_id ?? EXAMPLE_REQUEST_ID, ...doc.example } },
          ]),
        ),
      }),
    ),
  );
}
