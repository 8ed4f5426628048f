import type { Span } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { runWithSpan } from './active-span';
import { markFailed, TraceAttribute, Tracing } from './tracing';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's SERVER span while it is open; only with tracing on. */
    traceSpan?: Span;
  }
}

/**
 * A SERVER span per request, from its arrival (first hook, so that requests refused by a later `onRequest` hook
 * have one too) to its answer, named `METHOD /route/template`, a child of the caller's `traceparent`. It is the
 * active span from the handler's start (the request context's point, common/http-setup.ts: body parsing runs
 * outside any async context), and its ids are bound to the request's logger, so the access line carries them too.
 * With tracing off, no hook is added at all.
 */
export function traceRequests(fastify: FastifyInstance, tracing: Tracing): void {
  if (!tracing.enabled) return;
  fastify.decorateRequest('traceSpan', undefined);
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    const userAgent = request.headers['user-agent'];
    const span = tracing.startServerSpan(route ? `${request.method} ${route}` : request.method, request.headers, {
      [ATTR_HTTP_REQUEST_METHOD]: request.method,
      ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
      // The path only: a query string may carry what must never be recorded (e.g. a misplaced API key).
      [ATTR_URL_PATH]: request.url.split('?', 1)[0],
      [ATTR_URL_SCHEME]: request.protocol,
      [ATTR_CLIENT_ADDRESS]: request.ip,
      ...(userAgent ? { [ATTR_USER_AGENT_ORIGINAL]: userAgent } : {}),
      [TraceAttribute.RequestId]: request.id,
    });
    if (span) {
      request.traceSpan = span;
      const { traceId, spanId } = span.spanContext();
      request.log = reply.log = request.log.child({ trace_id: traceId, span_id: spanId });
    }
    done();
  });
  fastify.addHook('preHandler', (request, _reply, done) => (request.traceSpan ? runWithSpan(request.traceSpan, done) : done()));
  fastify.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request, reply.statusCode);
    done();
  });
  // The caller went away before the answer: onResponse never runs.
  fastify.addHook('onRequestAbort', (request, done) => {
    endRequestSpan(request, undefined);
    done();
  });
}

function endRequestSpan(request: FastifyRequest, status: number | undefined): void {
  const span = request.traceSpan;
  if (!span) return;
  request.traceSpan = undefined;
  const caller = request.caller;
  if (caller) span.setAttributes({ [TraceAttribute.EndUserId]: caller.subject, [TraceAttribute.CallerKind]: caller.kind });
  if (request.errorCode) span.setAttribute(TraceAttribute.ErrorCode, request.errorCode);
  if (status === undefined) markFailed(span, 'aborted');
  else {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // A server span fails on 5xx only: a 4xx is the caller's mistake, answered as designed.
    if (status >= 500) markFailed(span, String(status));
  }
  span.end();
}

/**
 * Runs `fn` with the request's span active, for work a hook does outside the handler (the audit record of a
 * PUT refused while its body was read); without tracing, or once the span ended, just `fn()`.
 */
export function withRequestSpan<T>(request: FastifyRequest, fn: () => T): T {
  return request.traceSpan ? runWithSpan(request.traceSpan, fn) : fn();
}
