import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from './dto/error-envelope.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`BFF.VALIDATION_FAILED`, field-level `errors`).',
  401: 'No or bad credentials (`BFF.UNAUTHENTICATED`).',
  403: 'Authenticated, but missing the scope or access to the project (`BFF.FORBIDDEN`).',
  404: 'The project is not served by this BFF (`BFF.PROJECT_NOT_FOUND`).',
  412: '`If-Match` does not match the current configuration (`BFF.PRECONDITION_FAILED`).',
  413: 'Body larger than 64 KiB (`BFF.PAYLOAD_TOO_LARGE`).',
  415: 'Body is not JSON (`BFF.UNSUPPORTED_MEDIA_TYPE`).',
  429: 'Rate limit exceeded (`BFF.RATE_LIMITED`); see `Retry-After`.',
  500: 'Unexpected error (`BFF.INTERNAL`).',
  502: "SMN failed, is unreachable, or refused this service's credentials (`BFF.UPSTREAM_UNAVAILABLE`, `BFF.UPSTREAM_AUTH_FAILED`).",
  503: 'SMN is throttling or its circuit is open, the audit store or the key server is unavailable (`BFF.UPSTREAM_THROTTLED`, `BFF.UPSTREAM_UNAVAILABLE`, `BFF.AUDIT_UNAVAILABLE`, `BFF.AUTH_UNAVAILABLE`); see `Retry-After`.',
  504: 'SMN did not answer in time (`BFF.UPSTREAM_TIMEOUT`).',
};

const REQUEST_ID = '1b2ab75ecaf44ad2974d79048bab53f1';

/**
 * The 400 of the SMN-shaped routes (README, Errors): SMN's own rules answer with SMN's code and message, any
 * other rule with the BFF's, and SMN's refusals pass through.
 */
const SMN_ROUTE_400 = {
  description:
    "Invalid input. A rule SMN itself enforces answers with SMN's own code and message, field-level `errors` kept: `SMN.0100` (event type), `SMN.0140` / `SMN.0142` / `SMN.0144` (topic URN malformed or of another project or region, for the fail / success / reply event). Any other rule: `BFF.VALIDATION_FAILED`. SMN's own refusals (`SMN.0141`, …) pass through.",
  examples: {
    'SMN.0100': {
      summary: "An event type SMN does not know (body or event_type filter): SMN's code and message",
      value: {
        request_id: REQUEST_ID,
        code: 'SMN.0100',
        message: 'The eventType parameter is invalid.',
        errors: [{ field: 'callback[0].event_type', message: 'event_type must be one of sms_success_event, sms_fail_event, sms_reply_event' }],
      },
    },
    'SMN.0144': {
      summary: "PUT: a reply-event topic URN of another project (or malformed, or of another region): SMN's URN code for that event type",
      value: {
        request_id: REQUEST_ID,
        code: 'SMN.0144',
        message: 'The topic URN configured for the response message event is invalid.',
        errors: [{ field: 'callback[0].topic_urn', message: 'the topic must belong to project f96188c7ccaf4ffba0c9aa149ab2bd57' }],
      },
    },
    'BFF.VALIDATION_FAILED': {
      summary: "Any other rule (1–3 items, duplicates, unknown properties, types, the project id): the BFF's code",
      value: {
        request_id: REQUEST_ID,
        code: 'BFF.VALIDATION_FAILED',
        message: 'The request is invalid.',
        errors: [{ field: 'callback', message: 'callback must not list an event_type twice' }],
      },
    },
    'SMN.0141': {
      summary: 'PUT: SMN refused the change (the topic does not exist): passed through',
      value: {
        request_id: 'aad0860d089c482b943971f802a6718e',
        code: 'SMN.0141',
        message: 'The topic configured for the message sending failure event does not exist.',
        upstream: { status: 400, code: 'SMN.0141', request_id: 'aad0860d089c482b943971f802a6718e' },
      },
    },
  },
};

/** Documents the listed error statuses, all with the one envelope. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorEnvelopeDto })));
}

/** The same for the SMN-shaped routes, whose 400 may carry SMN's own codes. */
export function ApiSmnRouteErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, type: ErrorEnvelopeDto, ...(status === 400 ? SMN_ROUTE_400 : { description: DESCRIPTIONS[status] }) })),
  );
}
