import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { activeSpan, activeTraceIds, runWithSpan } from './active-span';
import { Tracing } from './tracing';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function enabledTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracing = new Tracing({ tracer: provider.getTracer('test'), propagator: new W3CTraceContextPropagator(), shutdown: () => provider.shutdown() });
  return { tracing, exporter };
}

describe('Tracing', () => {
  it('off: no span, nothing active, no header written, the function just runs', async () => {
    const tracing = Tracing.DISABLED;
    expect(tracing.enabled).toBe(false);
    expect(tracing.startServerSpan('GET /x', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` }, {})).toBeUndefined();
    await expect(tracing.inSpan('work', SpanKind.INTERNAL, {}, async (span) => span)).resolves.toBeUndefined();
    const headers: Record<string, string> = {};
    tracing.inject(headers);
    expect(headers).toEqual({});
    expect(activeSpan()).toBeUndefined();
    expect(activeTraceIds()).toBeUndefined();
    await tracing.onApplicationShutdown();
  });

  it("continues the caller's trace, nests child spans under the active one and injects the active span's traceparent", async () => {
    const { tracing, exporter } = enabledTracing();
    const server = tracing.startServerSpan('PUT /v2/:project_id', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'caller=1' }, {})!;
    const headers: Record<string, string> = {};
    await runWithSpan(server, () =>
      tracing.inSpan('PUT upstream', SpanKind.CLIENT, { 'smn.retry': 0 }, async (span) => {
        tracing.inject(headers);
        expect(activeTraceIds()).toEqual({ trace_id: CALLER_TRACE, span_id: span!.spanContext().spanId });
      }),
    );
    server.end();

    const [client, request] = exporter.getFinishedSpans();
    expect(request.spanContext().traceId).toBe(CALLER_TRACE);
    expect(request.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(client.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(client.kind).toBe(SpanKind.CLIENT);
    expect(headers).toEqual({ traceparent: `00-${CALLER_TRACE}-${client.spanContext().spanId}-01`, tracestate: 'caller=1' });
  });

  it('marks a failed span with the error class, never its message', async () => {
    const { tracing, exporter } = enabledTracing();
    class StoreDown extends Error {}
    await expect(tracing.inSpan('audit.intent', SpanKind.INTERNAL, {}, () => Promise.reject(new StoreDown('password=hunter2')))).rejects.toThrow(StoreDown);
    const [span] = exporter.getFinishedSpans();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(span.attributes['error.type']).toBe('StoreDown');
    expect(JSON.stringify(span.attributes)).not.toContain('hunter2');
    // A root span when nothing is active (the sweep's deferred records).
    expect(span.parentSpanContext).toBeUndefined();
  });
});
