import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from './dto/error-envelope.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`BFF.VALIDATION_FAILED`), or SMN rejected it (`SMN.*` passed through).',
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

/** Documents the listed error statuses, all with the one envelope. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorEnvelopeDto })));
}
