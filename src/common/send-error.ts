import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorReply } from './error-envelope';

/**
 * Writes the envelope for `error`. Used by the Nest filter and by Fastify's error handler, which sees the
 * errors raised before routing (body too large, bad JSON, wrong media type).
 */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, headers, body } = toErrorReply(error, request.id);
  if (status >= 500) {
    request.log.error({ err: error, code: body.code }, 'request failed');
  }
  request.errorCode = body.code;
  void reply.status(status).headers(headers).header('content-type', 'application/json; charset=utf-8').send(body);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The envelope code of a failed request, for the access log and metrics. */
    errorCode?: string;
  }
}
