import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { activeTraceIds } from '../../src/tracing/active-span';
import { Tracing } from '../../src/tracing/tracing';
import { callbackPath, ContractApp, SEED_BODY, startContractApp } from './support/contract-app';

/**
 * Tracing is off by default (README, Tracing), and off means nothing: no span is made, no hook runs, no log line
 * or header carries a trace field. An OpenTelemetry provider registered globally by someone else gets nothing
 * either, since the service never goes through the global API.
 */
describe('tracing off (no OTLP endpoint configured)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let c: ContractApp;
  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    c = await startContractApp({ env: { LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await c.close();
    trace.disable();
    propagation.disable();
    await provider.shutdown();
  });

  it('creates no span, adds no hook, and writes no trace field or header', async () => {
    expect(c.app.get(Tracing).enabled).toBe(false);
    expect(c.app.getHttpAdapter().getInstance().hasRequestDecorator('traceSpan')).toBe(false);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    const put = await c.put(callbackPath(), SEED_BODY, { headers: { traceparent } });
    expect(put.statusCode).toBe(200);
    expect((await c.get(callbackPath(), { headers: { traceparent } })).statusCode).toBe(200);
    // A PUT refused while its body is read: its record is written from a hook, outside the handler.
    expect((await c.put(callbackPath(), 'not json', { headers: { traceparent, 'content-type': 'text/plain' } })).statusCode).toBe(415);

    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(activeTraceIds()).toBeUndefined();
    expect(put.headers).not.toHaveProperty('traceparent');
    expect(c.logs.filter((line) => line.msg === 'request')).toHaveLength(3);
    for (const line of c.logs) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line).not.toHaveProperty('span_id');
    }
  });
});
