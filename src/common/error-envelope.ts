import { BffError, FieldError, UpstreamInfo } from './bff-error';
import { ErrorCode } from './error-codes';

/** The one error body of the BFF, shaped like SMN's own `{request_id, code, message}` (README, Errors). */
export interface ErrorEnvelope {
  request_id: string;
  code: string;
  message: string;
  errors?: FieldError[];
  upstream?: UpstreamInfo;
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: ErrorEnvelope;
}

/** Fastify's own errors (raised before Nest sees the request) that callers can cause. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: ErrorCode.PayloadTooLarge, message: 'The request body exceeds 64 KiB.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: ErrorCode.UnsupportedMediaType,
    message: 'The request body must be JSON (Content-Type: application/json).',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: ErrorCode.ValidationFailed, message: 'The request body is empty.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: ErrorCode.ValidationFailed, message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: ErrorCode.ValidationFailed, message: 'The request body is not valid JSON.' },
};

const STATUS_CODES: Record<number, string> = {
  400: ErrorCode.ValidationFailed,
  401: ErrorCode.Unauthenticated,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  405: ErrorCode.NotFound,
  412: ErrorCode.PreconditionFailed,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
};

interface ErrorLike {
  statusCode?: number;
  status?: number;
  code?: string;
  message?: string;
  getStatus?: () => number;
  getResponse?: () => unknown;
}

/**
 * Builds the reply for any thrown value — the single place where error bodies are made.
 * Unknown errors become a bare 500 so no internals leak.
 */
export function toErrorReply(error: unknown, requestId: string): ErrorReply {
  if (error instanceof BffError) {
    return {
      status: error.status,
      headers: error.headers ?? {},
      body: compact({
        request_id: error.upstream?.request_id ?? requestId,
        code: error.code,
        message: error.message,
        errors: error.errors,
        upstream: error.upstream,
      }),
    };
  }
  const e = (error ?? {}) as ErrorLike;
  const known = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (known) return plain(known.status, known.code, known.message, requestId);
  // JSON syntax errors from Fastify's parser carry status 400 but no stable code.
  if (error instanceof SyntaxError && (e.statusCode === 400 || e.status === 400)) {
    return plain(400, ErrorCode.ValidationFailed, 'The request body is not valid JSON.', requestId);
  }
  const status = typeof e.getStatus === 'function' ? e.getStatus() : (e.statusCode ?? e.status);
  if (typeof status === 'number' && STATUS_CODES[status]) {
    return plain(status, STATUS_CODES[status], httpMessage(status, e), requestId);
  }
  return plain(500, ErrorCode.Internal, 'An unexpected error occurred.', requestId);
}

function httpMessage(status: number, e: ErrorLike): string {
  if (status === 404 || status === 405) return 'No such route.';
  return e.message ?? 'Request rejected.';
}

function plain(status: number, code: string, message: string, requestId: string): ErrorReply {
  return { status, headers: {}, body: { request_id: requestId, code, message } };
}

function compact(body: ErrorEnvelope): ErrorEnvelope {
  if (!body.errors?.length) delete body.errors;
  if (!body.upstream) delete body.upstream;
  return body;
}
