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
  // The router's (http-setup.ts, frameworkErrors): Fastify's own messages quote the path.
  FST_ERR_BAD_URL: { status: 400, code: ErrorCode.ValidationFailed, message: 'The request path is not a valid URL.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: ErrorCode.UriTooLong, message: 'The request path is too long.' },
};

/**
 * Other errors by status, each with this service's own message: a framework's message may quote the request
 * (a path, a header) or name its internals, so none is passed on.
 */
const BY_STATUS: Record<number, { code: string; message: string }> = {
  400: { code: ErrorCode.ValidationFailed, message: 'The request is invalid.' },
  401: { code: ErrorCode.Unauthenticated, message: 'Authentication is required.' },
  403: { code: ErrorCode.Forbidden, message: 'The request is not allowed.' },
  404: { code: ErrorCode.NotFound, message: 'No such route.' },
  405: { code: ErrorCode.NotFound, message: 'No such route.' },
  408: { code: ErrorCode.RequestTimeout, message: 'The request did not arrive in time.' },
  412: { code: ErrorCode.PreconditionFailed, message: 'The precondition failed.' },
  413: { code: ErrorCode.PayloadTooLarge, message: 'The request body exceeds 64 KiB.' },
  414: { code: ErrorCode.UriTooLong, message: 'The request path is too long.' },
  415: { code: ErrorCode.UnsupportedMediaType, message: 'The request body must be JSON (Content-Type: application/json).' },
  417: { code: ErrorCode.ExpectationFailed, message: 'Only the expectation 100-continue is supported.' },
  429: { code: ErrorCode.RateLimited, message: 'Too many requests.' },
  431: { code: ErrorCode.HeadersTooLarge, message: 'The request headers exceed 32 KiB.' },
};

interface ErrorLike {
  statusCode?: number;
  status?: number;
  code?: string;
  name?: string;
  message?: string;
  cause?: unknown;
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
  const e = fastifyErrorOf(error) ?? ((error ?? {}) as ErrorLike);
  const known = e.code ? FASTIFY_ERRORS[e.code] : undefined;
  if (known) return plain(known.status, known.code, known.message, requestId);
  // JSON syntax errors from Fastify's parser carry status 400 but no stable code.
  if (error instanceof SyntaxError && (e.statusCode === 400 || e.status === 400)) {
    return plain(400, ErrorCode.ValidationFailed, 'The request body is not valid JSON.', requestId);
  }
  const status = typeof e.getStatus === 'function' ? e.getStatus() : (e.statusCode ?? e.status);
  const byStatus = typeof status === 'number' ? BY_STATUS[status] : undefined;
  if (byStatus) return plain(status as number, byStatus.code, byStatus.message, requestId);
  return plain(500, ErrorCode.Internal, 'An unexpected error occurred.', requestId);
}

/** Nest hands Fastify's 4xx errors on as an HttpException with the Fastify error as its cause. */
function fastifyErrorOf(error: unknown): ErrorLike | undefined {
  const cause = (error as ErrorLike | undefined)?.cause as ErrorLike | undefined;
  return cause && cause.name === 'FastifyError' && typeof cause.code === 'string' ? cause : undefined;
}

function plain(status: number, code: string, message: string, requestId: string): ErrorReply {
  return { status, headers: {}, body: { request_id: requestId, code, message } };
}

function compact(body: ErrorEnvelope): ErrorEnvelope {
  if (!body.errors?.length) delete body.errors;
  if (!body.upstream) delete body.upstream;
  return body;
}
