import type { Span } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The span that code running now belongs to (the request's, or an upstream attempt's inside it), carried through
 * async calls like the request context (common/request-context.ts). Child spans, the outbound `traceparent` and
 * the trace ids of log lines come from here. With tracing off nothing ever enters it, and a lookup is a
 * property check: no OpenTelemetry context manager runs, globally or otherwise.
 */
const storage = new AsyncLocalStorage<Span>();

export function activeSpan(): Span | undefined {
  return storage.getStore();
}

export function runWithSpan<T>(span: Span, fn: () => T): T {
  return storage.run(span, fn);
}

/** What a log line written now carries (pino's mixin in common/logger.ts); undefined outside any span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = storage.getStore();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
